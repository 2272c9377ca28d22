// Reads every URL of a scenario once before it is measured (bench/run.sh): the "_ID_" of URL
// becomes each id of the file in turn, 16 requests at a time. For coi this fills its response
// cache, for the peer and pgbench PostgreSQL's buffers: the benchmark measures the steady
// state of a service whose working set has been read once, not its first minute.
//   node bench/prime.mjs URL IDS_FILE [TOKEN]
import { readFileSync } from 'node:fs';

const [url, idsFile, token] = process.argv.slice(2);
const ids = readFileSync(idsFile, 'utf8').split('\n').filter(Boolean);
const headers = token ? { Authorization: `Bearer ${token}` } : {};
let next = 0;
let failed = 0;
async function worker() {
  while (next < ids.length) {
    const id = ids[next++];
    const response = await fetch(url.replace('_ID_', id), { headers });
    await response.arrayBuffer();
    if (response.status !== 200) failed++;
  }
}
await Promise.all(Array.from({ length: 16 }, worker));
if (failed > 0) {
  console.error(`bench/prime.mjs: ${failed} of ${ids.length} reads of ${url} did not answer 200`);
  process.exit(1);
}
