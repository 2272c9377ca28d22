// Makes JWTs for the tests with node:crypto: well-formed ones for each role, and the forged
// and broken ones that the security tests send.
import { createHmac, createSign, generateKeyPairSync } from 'node:crypto';

export const TEST_SECRET = 'test-secret-for-coi-http-tests-0123456789abcdef';

const b64url = (data) => Buffer.from(data).toString('base64url');

/** Signs {header, claims} as a compact JWT. alg: HS256/HS384/HS512 (key: secret text or
 * bytes), RS256 or ES256 (key: a private KeyObject or PEM), or none in any letter case (no
 * signature). `header` adds fields. `claims` may be an object or the payload's JSON text as is
 * (e.g. with a repeated member). `signAs` computes the signature with another algorithm than
 * the header names (for forged tokens). */
export function sign(claims, { alg = 'HS256', key = TEST_SECRET, header = {}, signAs = alg } = {}) {
  const head = b64url(JSON.stringify({ alg, typ: 'JWT', ...header }));
  const body = b64url(typeof claims === 'string' ? claims : JSON.stringify(claims));
  const input = `${head}.${body}`;
  if (signAs.toLowerCase() === 'none') return `${input}.`;
  if (/^HS(256|384|512)$/.test(signAs)) {
    return `${input}.${createHmac(`sha${signAs.slice(2)}`, key).update(input).digest('base64url')}`;
  }
  const signer = createSign('SHA256').update(input);
  const signature = signAs === 'ES256'
    ? signer.sign({ key, dsaEncoding: 'ieee-p1363' })
    : signer.sign(key);
  return `${input}.${signature.toString('base64url')}`;
}

export const now = () => Math.floor(Date.now() / 1000);

/** Claims for a role, valid for an hour: admin, editor, steering (party kl), partner (org 0101). */
export function claimsFor(role, extra = {}) {
  const base = { sub: `test-${role}`, role, iat: now(), exp: now() + 3600 };
  if (role === 'steering') base.party = 'kl';
  if (role === 'partner') base.org = '0101';
  return { ...base, ...extra };
}

/** A valid HS256 token for `role` (with TEST_SECRET), or null for anonymous. */
export function tokenFor(role, extra = {}) {
  return role === 'anonymous' ? null : sign(claimsFor(role, extra));
}

/** Authorization headers for `role` ({} for anonymous). */
export function authFor(role, extra = {}) {
  const token = tokenFor(role, extra);
  return token ? { Authorization: `Bearer ${token}` } : {};
}

/** A fresh key pair: {privateKey, publicPem}. type 'rsa' or 'ec' (P-256). */
export function keyPair(type) {
  const { privateKey, publicKey } = type === 'rsa'
    ? generateKeyPairSync('rsa', { modulusLength: 2048 })
    : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { privateKey, publicPem: publicKey.export({ type: 'spki', format: 'pem' }) };
}
