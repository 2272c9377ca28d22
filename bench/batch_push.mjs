// The pushing side of the batch benchmark (bench/batch.sh): generates deterministic cases and
// pushes them to POST /v1/organisations/{code}/cases:batch as a partner system would, while
// sampling the service's resident memory. Node 20: built-in fetch (undici), which keeps one
// connection alive per stream.
//
//   node bench/batch_push.mjs push --base URL --token TOKEN --pid COI_PID --pass create|unchanged
//        [--cases 100000] [--batch-size 1000] [--format ndjson|json] [--concurrency 1]
//        [--leads 0101,0751,...] [--pg-pid POSTMASTER_PID] --out FILE
//       Generates every batch first (not timed), then pushes them over `concurrency` parallel
//       streams (each takes the next batch when its previous one is answered) and times the
//       whole push, from the first request sent to the last answer read. Every item must come
//       back with the pass's result (`created` or `unchanged`) and every request must answer
//       200; otherwise the figures are still written, with the failures, and it exits 1.
//       Meanwhile a worker thread reads VmRSS of COI_PID from /proc every 50 ms; the peak, and
//       VmHWM after the pass, go to FILE (one JSON line appended) with the CPU seconds the
//       service, PostgreSQL (the postmaster and its children) and this client used.
//   node bench/batch_push.mjs check [--cases N] [--batch-size B] [--leads ...] --base URL
//       [--print n]
//       Validates every generated item against the OpenAPI document's CaseBatchItem schema
//       (Ajv, from the repository's dev dependencies); --print shows case n's item.
//
// Case n (1..N) goes in batch floor((n - 1) / B), whose lead organisation is leads[batch %
// leads.length] (an editor may push for any organisation; one lead per batch, as the route
// wants). Its content follows bench/gen_cases.sql: Danish texts from the word lists of its
// sector, 0..3 partner organisations near the lead in code order, tags, innovation types,
// effect types and the optional prose fields in about the same proportions. Every choice is a
// hash of (salt, n), so two runs push byte-identical bodies.
import { appendFileSync, readdirSync, readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DEFAULT_LEADS = '0101,0751,0851,0461,0561,0630,0157,0791,0621,0615';

// ---- Word lists (those of bench/gen_cases.sql) -------------------------------------------

const SECTORS = [
  {
    sector: 'elderly_care',
    weight: 20,
    subjects:
      ['hjemmeplejen', 'ældreplejen', 'plejecentret', 'plejehjemmet', 'hjemmesygeplejen',
        'demensteamet', 'visitationen', 'madservice', 'aftenvagten i hjemmeplejen'],
    actions:
      ['planlægger selv ruterne', 'bruger skærmbesøg til ældre borgere',
        'indfører hverdagsrehabilitering', 'afprøver velfærdsteknologi i hjemmet',
        'samarbejder tæt med pårørende', 'forebygger fald hos ældre',
        'arbejder i selvstyrende teams', 'styrker genoptræningen efter udskrivelse',
        'mindsker ensomhed blandt ældre', 'bruger sensorer til natlige tilsyn',
        'giver ældre borgere faste hjælpere'],
    problems:
      [
        'Hjemmeplejen brugte meget tid på kørsel og koordinering, og borgerne mødte mange forskellige medarbejdere.',
        'Flere ældre borgere blev genindlagt kort tid efter udskrivelse, fordi genoptræningen ikke kom hurtigt nok i gang.',
        'Ældreplejen havde svært ved at rekruttere og fastholde medarbejdere.',
        'Mange ældre borgere følte sig ensomme, og de pårørende manglede overblik over plejen.',
        'Natlige tilsyn vækkede borgerne og gav uro på plejecentret.'],
    solutions:
      [
        'Medarbejderne i hjemmeplejen lægger selv køreplanen hver morgen og fordeler besøgene i teamet.',
        'Borgerne får et intensivt rehabiliteringsforløb med fokus på hverdagens aktiviteter, før der visiteres til varig hjemmepleje.',
        'Skærmbesøg erstatter en del af de fysiske besøg, så borgeren kan få hjælp flere gange om dagen.',
        'Sensorer i hjemmet giver besked, hvis borgeren falder om natten.',
        'Ældreplejen er organiseret i små selvstyrende teams omkring den enkelte borger.'],
    tags:
      ['hjemmepleje', 'ældrepleje', 'ældre', 'rehabilitering', 'velfærdsteknologi', 'demens',
        'pårørende', 'skærmbesøg', 'genoptræning', 'faldforebyggelse', 'selvstyrende teams',
        'ensomhed'],
  },
  {
    sector: 'health',
    weight: 14,
    subjects:
      ['sundhedsplejen', 'akutteamet', 'sygehuset', 'psykiatrien', 'forebyggelsescentret',
        'genoptræningscentret', 'sundhedshuset', 'almen praksis'],
    actions:
      ['forebygger indlæggelser med tidlig opsporing', 'tilbyder videokonsultationer',
        'samler sundhedsindsatsen i ét team', 'bruger data til at forudsige genindlæggelser',
        'styrker overgangen mellem sygehus og kommune', 'nedbringer ventetiden',
        'tilbyder digital genoptræning', 'inddrager patienterne i egen behandling'],
    problems:
      [
        'Patienter med kroniske sygdomme blev indlagt flere gange om året med forværringer, der kunne være opdaget tidligere.',
        'Ventetiden til genoptræning var lang, og mange patienter mistede funktionsevne undervejs.',
        'Overgangen fra sygehus til kommune skabte usikkerhed for patienter og pårørende.',
        'Borgere med psykisk sygdom faldt mellem to stole i sundhedsvæsenet.'],
    solutions:
      ['Et tværsektorielt team følger patienterne tæt de første uger efter udskrivelse.',
        'Patienterne måler selv blodtryk og vægt derhjemme, og sygeplejersken følger op via video.',
        'Almen praksis, kommunen og sygehuset deler en fælles plan for den enkelte patient.',
        'Akutteamet rykker ud i borgerens hjem og behandler der i stedet for på sygehuset.'],
    tags:
      ['sundhed', 'forebyggelse', 'genindlæggelser', 'telemedicin', 'psykiatri', 'tidlig opsporing',
        'patientinddragelse', 'genoptræning', 'tværsektorielt samarbejde', 'ventetid'],
  },
  {
    sector: 'social',
    weight: 9,
    subjects:
      ['socialforvaltningen', 'botilbuddet', 'handicapområdet', 'misbrugsbehandlingen', 'herberget',
        'bostøtten', 'socialpsykiatrien'],
    actions:
      ['giver udsatte borgere én indgang til kommunen', 'arbejder recovery-orienteret',
        'inddrager borgerne i egen handleplan', 'bruger netværksmøder med familie og venner',
        'forebygger hjemløshed', 'styrker samarbejdet med frivillige'],
    problems:
      ['Udsatte borgere havde mange sagsbehandlere og forskellige planer, der ikke hang sammen.',
        'Borgere på botilbuddet havde for lidt indflydelse på egen hverdag.',
        'Flere unge blev hjemløse efter endt anbringelse.'],
    solutions:
      ['Borgeren får én koordinerende sagsbehandler og én samlet plan.',
        'Medarbejderne arbejder med recovery og borgerens egne mål.',
        'Frivillige mentorer følger de unge i det første år i egen bolig.'],
    tags:
      ['udsatte borgere', 'handicap', 'misbrug', 'hjemløshed', 'recovery', 'socialpsykiatri',
        'frivillige', 'netværk', 'borgerinddragelse', 'samskabelse'],
  },
  {
    sector: 'children_youth',
    weight: 10,
    subjects:
      ['daginstitutionen', 'dagplejen', 'vuggestuen', 'børnehaven', 'familieafdelingen',
        'ungdomsskolen', 'klubben', 'PPR'],
    actions:
      ['styrker sprogindsatsen for de mindste', 'bruger naturen som læringsrum',
        'samarbejder tidligt med forældrene', 'forebygger mistrivsel blandt unge',
        'giver familier én fast kontaktperson', 'arbejder med tidlig indsats'],
    problems:
      ['For mange børn startede i skole med et svagt sprog.',
        'Familier med komplekse problemer mødte mange forskellige fagpersoner.',
        'Mistrivsel blandt unge blev opdaget for sent.'],
    solutions:
      ['Pædagogerne i daginstitutionen arbejder struktureret med sprog i hverdagens aktiviteter.',
        'Familien får én fast kontaktperson, der koordinerer indsatsen på tværs.',
        'Ungdomsskolen og klubben tilbyder samtaleforløb, før problemerne vokser.'],
    tags:
      ['daginstitution', 'børn', 'unge', 'familier', 'tidlig indsats', 'sprog', 'trivsel',
        'forældresamarbejde', 'mistrivsel', 'inklusion'],
  },
  {
    sector: 'education',
    weight: 10,
    subjects:
      ['folkeskolen', 'skolen', 'specialundervisningen', 'ungdomsuddannelsen', "SFO'en",
        'skolebiblioteket'],
    actions:
      ['indfører holddannelse på tværs af årgange', 'bruger co-teaching i undervisningen',
        'styrker elevernes trivsel', 'flytter undervisningen ud af klasselokalet',
        'nedbringer fraværet', 'inkluderer flere elever i almenundervisningen'],
    problems:
      ['Mange elever med særlige behov blev undervist uden for klassen.',
        'Fraværet i udskolingen var højt og steg år for år.',
        'Lærerne havde svært ved at differentiere undervisningen.'],
    solutions:
      ['To lærere underviser sammen, så flere elever kan blive i klassen.',
        'Skolen kontakter hjemmet samme dag, når en elev er fraværende.',
        'Undervisningen foregår en dag om ugen i naturen og i lokale virksomheder.'],
    tags:
      ['skole', 'folkeskole', 'undervisning', 'elever', 'trivsel', 'inklusion', 'fravær', 'læring',
        'lærere', 'skole-hjem-samarbejde'],
  },
  {
    sector: 'employment',
    weight: 9,
    subjects:
      ['jobcentret', 'beskæftigelsesindsatsen', 'virksomhedsservice', 'ydelseskontoret',
        'integrationsindsatsen', 'ungeindsatsen'],
    actions:
      ['bringer ledige tættere på job med virksomhedspraktik',
        'giver sygemeldte en hurtigere afklaring',
        'samarbejder med lokale virksomheder om rekruttering',
        'tilbyder jobformidling på borgerens præmisser', 'kombinerer sprogundervisning og praktik'],
    problems:
      ['Ledige borgere var længe på offentlig forsørgelse uden kontakt til virksomheder.',
        'Sygemeldte ventede længe på afklaring og mistede kontakten til arbejdspladsen.',
        'Virksomhederne kunne ikke skaffe den arbejdskraft, de havde brug for.'],
    solutions:
      ['Virksomhedskonsulenterne matcher ledige med konkrete job i lokale virksomheder.',
        'Sygemeldte får en tværfaglig samtale i første uge.',
        'Nyankomne flygtninge kombinerer danskundervisning med praktik fra første dag.'],
    tags:
      ['beskæftigelse', 'jobcenter', 'ledige', 'sygedagpenge', 'integration',
        'virksomhedssamarbejde', 'uddannelse', 'praktik', 'rekruttering'],
  },
  {
    sector: 'environment_climate',
    weight: 7,
    subjects:
      ['klimaafdelingen', 'affaldsordningen', 'forsyningen', 'vej og park', 'energirenoveringen',
        'den kollektive trafik', 'genbrugspladsen'],
    actions:
      ['halverer madspildet i kommunens køkkener', 'energirenoverer kommunens bygninger',
        'omstiller bilparken til el', 'sorterer affaldet i ti fraktioner',
        'planter skov sammen med borgerne', 'klimatilpasser byen med regnvandsbede'],
    problems:
      ['Kommunens bygninger brugte meget energi, og klimamålene var svære at nå.',
        'Store mængder mad blev smidt ud i kommunens køkkener.',
        'Skybrud gav oversvømmelser i flere bydele.'],
    solutions:
      ['Bygningerne er energirenoveret, og forbruget følges time for time.',
        'Køkkenerne planlægger menuerne efter data om madspild.',
        'Regnvand ledes til grønne bede og parker i stedet for kloakken.'],
    tags:
      ['klima', 'miljø', 'grøn omstilling', 'energi', 'affald', 'genbrug', 'madspild', 'elbiler',
        'klimatilpasning', 'biodiversitet'],
  },
  {
    sector: 'culture_leisure',
    weight: 5,
    subjects:
      ['biblioteket', 'kulturhuset', 'musikskolen', 'idrætsforeningerne', 'fritidsområdet', 'museet'],
    actions:
      ['åbner biblioteket for borgerne uden personale',
        'samarbejder med foreningslivet om aktiviteter for ældre',
        'bruger kulturen til at styrke fællesskaber', 'tilbyder gratis fritidsaktiviteter for børn',
        'inddrager unge i planlægningen'],
    problems:
      ['Biblioteket havde korte åbningstider i de små byer.',
        'Mange børn fra udsatte familier gik ikke til fritidsaktiviteter.',
        'Ældre borgere manglede fællesskaber efter arbejdslivet.'],
    solutions:
      ['Borgerne låser sig ind med sundhedskortet og bruger biblioteket hele dagen.',
        'Foreningerne får tilskud til at tage imod børn gratis det første år.',
        'Kulturhuset og frivillige arrangerer ugentlige fællesspisninger.'],
    tags:
      ['kultur', 'fritid', 'bibliotek', 'foreninger', 'fællesskab', 'frivillige', 'idræt',
        'medborgerskab'],
  },
  {
    sector: 'administration',
    weight: 8,
    subjects:
      ['borgerservice', 'sagsbehandlingen', 'økonomiafdelingen', 'HR-afdelingen',
        'indkøbsafdelingen', 'byggesagsbehandlingen', 'løn og personale'],
    actions:
      ['automatiserer rutineopgaver med softwarerobotter', 'halverer sagsbehandlingstiden',
        'forenkler blanketterne', 'samler ledelsesinformation i ét overblik',
        'indfører tillidsbaseret ledelse', 'nedbringer sygefraværet'],
    problems:
      ['Sagsbehandlingstiden på byggesager var lang, og borgerne ringede ofte for at høre nyt.',
        'Medarbejderne brugte mange timer på manuel registrering.',
        'Ledelsen manglede overblik over økonomi og aktivitet.'],
    solutions:
      ['Softwarerobotter tager sig af registrering og journalisering.',
        'Borgeren får en fast tid til en digital forhåndsdialog om sagen.',
        'Data fra fagsystemerne samles i ét overblik for ledelsen.'],
    tags:
      ['sagsbehandling', 'administration', 'digitalisering', 'ledelse', 'arbejdsgange',
        'afbureaukratisering', 'sygefravær', 'robotter', 'data'],
  },
  {
    sector: 'digital_services',
    weight: 6,
    subjects:
      ['den digitale selvbetjening', 'it-afdelingen', 'digitaliseringsenheden', 'borgerportalen',
        'velfærdsteknologienheden', 'dataenheden'],
    actions:
      ['bruger kunstig intelligens i sagsbehandlingen',
        'udvikler selvbetjening sammen med borgerne',
        'hjælper ældre borgere med digitale løsninger', 'deler data sikkert mellem forvaltninger',
        'indfører chatbot i borgerservice', 'afprøver velfærdsteknologi i stor skala'],
    problems:
      ['Mange borgere kunne ikke bruge de digitale løsninger og ringede i stedet.',
        'Data lå i mange systemer og kunne ikke bruges på tværs.',
        'Velfærdsteknologi blev afprøvet, men sjældent taget i brug bredt.'],
    solutions:
      ['Borgere tester selvbetjeningen, før den sættes i drift.',
        'En chatbot besvarer de hyppigste spørgsmål døgnet rundt.',
        'Velfærdsteknologi udbredes med en fast model for afprøvning, implementering og opfølgning.'],
    tags:
      ['digitalisering', 'velfærdsteknologi', 'kunstig intelligens', 'selvbetjening', 'data',
        'chatbot', 'digital inklusion', 'it-sikkerhed'],
  },
  {
    sector: 'other',
    weight: 2,
    subjects:
      ['kommunen', 'forvaltningen', 'frivilligcentret', 'lokalrådet', 'innovationsenheden'],
    actions:
      ['samskaber løsninger med borgerne', 'tester nye ideer i et innovationslaboratorium',
        'deler viden på tværs af forvaltninger', 'styrker lokaldemokratiet'],
    problems:
      ['Gode ideer fra medarbejderne blev sjældent afprøvet.',
        'Borgerne i landdistrikterne følte sig ikke hørt.'],
    solutions:
      ['Medarbejderne kan søge tid og hjælp til at afprøve en idé i tre måneder.',
        'Lokalrådene får et budget og beslutter selv, hvad det bruges til.'],
    tags:
      ['innovation', 'samskabelse', 'borgerinddragelse', 'lokaldemokrati', 'tværfagligt samarbejde',
        'ledelse'],
  },
];
const GOALS =
  ['give borgerne mere tid', 'frigøre tid til kerneopgaven', 'styrke borgernes selvhjulpenhed',
    'reducere udgifterne', 'forbedre kvaliteten for borgerne', 'mindske ventetiden',
    'øge medarbejdernes arbejdsglæde', 'nå kommunens klimamål',
    'skabe mere sammenhæng for borgerne', 'bruge ressourcerne bedre'];
const METHODS =
  ['Projektet er udviklet i samarbejde med medarbejdere, borgere og pårørende.',
    'Indsatsen bygger på erfaringer fra et pilotprojekt med tre teams.',
    'Løsningen er afprøvet i to enheder og udbredes nu til hele organisationen.',
    'Arbejdet er organiseret som et tværfagligt projekt med en fast styregruppe.',
    'Ideen kom fra medarbejderne, som selv har stået for afprøvningen.',
    'Indsatsen er inspireret af erfaringer fra Sverige og Holland.',
    'Digitalisering og nye arbejdsgange går hånd i hånd i projektet.'];
const RESULTS =
  [
    'Erfaringerne viser, at borgerne er mere tilfredse, og at medarbejderne bruger mindre tid på dokumentation.',
    'Sygefraværet er faldet, og det er blevet lettere at rekruttere.',
    'Borgerne oplever færre overdragelser og mere sammenhæng.',
    'Erfaringerne deles nu med andre kommuner og regioner.',
    'De første målinger viser færre genindlæggelser og bedre sundhed blandt borgerne.',
    'Flere borgere er kommet i beskæftigelse, og færre er på offentlig forsørgelse.',
    'Indsatsen har også gavnet klima og miljø.'];
const LESSONS =
  ['Det er vigtigt at inddrage medarbejderne fra begyndelsen.',
    'Ledelsesopbakning og tid til oplæring er afgørende.',
    'Teknologien er ikke nok i sig selv; arbejdsgangene skal ændres samtidig.',
    'Start småt, mål effekterne og justér undervejs.',
    'Borgernes og de pårørendes erfaringer har gjort løsningen bedre.',
    'Det tager længere tid end forventet at ændre vaner.',
    'Sagsbehandlingen skal tænkes med fra starten, ellers opstår der flaskehalse.'];
const RISKS =
  ['Der er risiko for, at de nye arbejdsgange ikke fastholdes, når projektperioden slutter.',
    'Løsningen kræver stabil it og god support.',
    'Det kan være svært at frigøre tid til udvikling i en travl hverdag.',
    'Uden klare aftaler om data og ansvar kan samarbejdet gå i stå.'];
const GENERAL_TAGS =
  ['innovation', 'tværfagligt samarbejde', 'borgerinddragelse', 'medarbejderinddragelse', 'ledelse',
    'digitalisering', 'kvalitet', 'effektivisering', 'samskabelse', 'udbredelse'];
const FIRST_NAMES =
  ['Anne', 'Mette', 'Lars', 'Søren', 'Hanne', 'Jens', 'Camilla', 'Mikkel', 'Louise', 'Henrik',
    'Pia', 'Thomas', 'Sofie', 'Rasmus', 'Birgitte', 'Peter', 'Line', 'Anders', 'Maria', 'Morten'];
const LAST_NAMES =
  ['Jensen', 'Nielsen', 'Hansen', 'Pedersen', 'Andersen', 'Christensen', 'Larsen', 'Sørensen',
    'Rasmussen', 'Jørgensen', 'Petersen', 'Madsen', 'Kristensen', 'Olsen', 'Thomsen', 'Poulsen',
    'Johansen', 'Møller', 'Mortensen', 'Knudsen'];
const INNOVATION_TYPES =
  ['collaboration', 'work_tool', 'workflow', 'task', 'vision', 'role'];
const EFFECT_TYPES =
  ['economy', 'quality', 'employee_satisfaction', 'citizen_involvement'];

const IMPLEMENTATION_STATUSES = ['piloting', 'implementing', 'implementing', 'implemented',
  'implemented', 'implemented', 'discontinued'];
const ORIGINS = ['original', 'original', 'original', 'original', 'original', 'original',
  'original', 'adapted', 'adapted', 'copied'];
const RATINGS = ['low', 'medium', 'medium', 'high'];
const LINK_TITLES = ['Projektbeskrivelse', 'Evalueringsrapport', 'Artikel om projektet',
  'Præsentation fra KL-konferencen'];

// Sectors by weight (the weights add up to 100).
const SECTOR_OF = SECTORS.flatMap((s) => Array(s.weight).fill(s));
const OTHER = SECTORS.find((s) => s.sector === 'other');

// ---- Deterministic choices ----------------------------------------------------------------

const saltHashes = new Map();
function saltHash(salt) {
  let v = saltHashes.get(salt);
  if (v === undefined) {
    v = 0x811c9dc5; // FNV-1a
    for (let i = 0; i < salt.length; i++) v = Math.imul(v ^ salt.charCodeAt(i), 0x01000193);
    saltHashes.set(salt, (v >>>= 0));
  }
  return v;
}

/** A number in [0, 2^32) that depends only on salt and n (murmur3's finaliser). */
function h(salt, n) {
  let x = (saltHash(salt) ^ Math.imul(n, 0x9e3779b1)) >>> 0;
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

const pick = (list, salt, n) => list[h(salt, n) % list.length];
const percent = (salt, n) => h(salt, n) % 100;
const capital = (s) => s.charAt(0).toUpperCase() + s.slice(1);
const slug = (s) => s.toLowerCase().replace(/æ/g, 'ae').replace(/ø/g, 'oe').replace(/å/g, 'aa')
  .replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
const pad = (n, width) => String(n).padStart(width, '0');

/** The distinct elements of list at (start + step * k) % length, k < count. */
function spread(list, start, step, count) {
  const out = [];
  for (let k = 0; out.length < count && k < list.length; k++) {
    const v = list[(start + step * k) % list.length];
    if (!out.includes(v)) out.push(v);
  }
  return out;
}

/**
 * The generator: `orgs` are the municipalities then the regions, each in code order
 * ({code, name}), as GET /v1/organisations lists them; `leads` the lead codes, one per batch in
 * turn.
 */
function generator({ orgs, leads, cases, batchSize }) {
  const index = new Map(orgs.map((o, i) => [o.code, i]));
  for (const code of leads) {
    if (!index.has(code)) throw new Error(`lead organisation ${code} is not among the seeded ones`);
  }
  const leadOf = (n) => orgs[index.get(leads[Math.floor((n - 1) / batchSize) % leads.length])];

  /** Case n's item: external_id and the PUT's fields (the lead comes from the path). */
  function item(n) {
    const lead = leadOf(n);
    const leadIndex = index.get(lead.code);
    const leadSlug = slug(lead.name);
    // Created over 2017..2025 in n order: the key a case system would give it.
    const year = 2017 + Math.floor(((n - 1) * 9) / cases);
    const sector = percent('sector?', n) < 3 ? null : SECTOR_OF[percent('sector', n)];
    const v = sector ?? OTHER;
    const subject = pick(v.subjects, 'subject', n);
    const action = pick(v.actions, 'action', n);
    const doc = {
      external_id: `SAG-${year}-${pad(n, 6)}`,
      title: `${capital(subject)} ${action}${h('t-org', n) % 10 < 3 ? ` i ${lead.name}` : ''}`,
      summary: `${capital(subject)} i ${lead.name} ${action} for at ${pick(GOALS, 'goal', n)}. ` +
        `${pick(METHODS, 'm', n)} ${pick(RESULTS, 'r', n)}`,
    };
    // Partners: up to three organisations a little further on in code order (never the lead).
    const np = [55, 80, 95, 100].findIndex((limit) => percent('np', n) < limit);
    if (np > 0) {
      const codes = [];
      let offset = 0;
      for (let k = 1; k <= np; k++) {
        offset += 1 + (h(`p${k}`, n) % 20);
        codes.push(orgs[(leadIndex + offset) % orgs.length].code);
      }
      doc.partner_organisation_codes = codes;
    }
    if (h('problem?', n) % 10 < 9) {
      doc.problem = `${pick(v.problems, 'problem', n)} Målet var at ${pick(GOALS, 'goal2', n)}.`;
    }
    if (h('solution?', n) % 10 < 9) {
      doc.solution = `${pick(v.solutions, 'solution', n)} ${pick(METHODS, 'm2', n)}`;
    }
    if (h('scope?', n) % 10 < 7) {
      doc.scope = `Indsatsen omfatter ${2 + (h('units', n) % 14)} enheder, ` +
        `${20 + (h('staff', n) % 400)} medarbejdere og omkring ${100 * (1 + (h('citizens', n) % 60))} borgere.`;
    }
    const itn = h('itn', n) % 10;
    doc.innovation_types = spread(INNOVATION_TYPES, h('it', n), 1, 1 + (itn >= 5) + (itn >= 8));
    if (sector !== null) doc.sector = sector.sector;
    // 1..3 tags of the sector and 0..2 general ones (never one the sector has too).
    const tags = spread(v.tags, h('tag', n), 2, 1 + (h('tagn', n) % 3));
    const general = spread(GENERAL_TAGS, h('gtag', n), 3, h('gtagn', n) % 3);
    for (const t of general) if (!v.tags.includes(t) && !tags.includes(t)) tags.push(t);
    doc.tags = tags;
    if (h('is?', n) % 10 < 9) doc.implementation_status = pick(IMPLEMENTATION_STATUSES, 'is', n);
    if (percent('so?', n) < 85) {
      const day = new Date(Date.UTC(year, 0, 1) - (h('so', n) % 900) * 86400000);
      doc.started_on = day.toISOString().slice(0, 10);
    }
    doc.origin = pick(ORIGINS, 'origin', n);
    if (h('im?', n) % 2 === 0) {
      doc.implementation_methods = 'Indsatsen er implementeret trinvist med superbrugere i hvert ' +
        'team og løbende opfølgning på ledermøderne.';
    }
    if (h('em?', n) % 10 < 4) {
      doc.evaluation_methods = 'Effekterne er målt før og efter med registerdata og ' +
        'spørgeskemaer til borgere og medarbejdere.';
    }
    if (h('ei?', n) % 2 === 0) {
      doc.employee_involvement = 'Medarbejderne har deltaget i workshops og har selv udviklet ' +
        'de nye arbejdsgange.';
    }
    if (h('ui?', n) % 2 === 0) {
      doc.user_involvement = 'Borgere og pårørende er interviewet, og et borgerpanel har givet ' +
        'løbende feedback.';
    }
    if (h('ed?', n) % 10 < 8) doc.employee_driven = h('ed', n) % 3 === 0;
    if (h('ud?', n) % 10 < 8) doc.user_driven = h('ud', n) % 5 === 0;
    if (h('sp?', n) % 2 === 0) {
      doc.spread_potential = 'Løsningen kan bruges i de fleste kommuner og kræver kun beskedne ' +
        'investeringer.';
    }
    if (h('spr?', n) % 10 < 8) doc.spread_potential_rating = pick(RATINGS, 'spr', n);
    doc.effect_types = spread(EFFECT_TYPES, h('et', n), 1, h('etn', n) % 4);
    if (h('es?', n) % 10 < 6) {
      doc.effects_summary = `Besparelse på omkring ${50000 * (1 + (h('es', n) % 80))} kr. om ` +
        'året og højere tilfredshed blandt borgerne.';
    }
    if (h('rp?', n) % 10 < 4) doc.risks_and_pitfalls = pick(RISKS, 'rp', n);
    if (h('ll?', n) % 10 < 6) {
      doc.lessons_learned = `${pick(LESSONS, 'll', n)} ${pick(LESSONS, 'll2', n)}`;
    }
    if (h('contact?', n) % 10 < 7) {
      const first = pick(FIRST_NAMES, 'fn', n);
      const last = pick(LAST_NAMES, 'ln', n);
      doc.contact_name = `${first} ${last}`;
      doc.contact_email = `${slug(first)}.${slug(last)}@${leadSlug}.dk`;
    }
    if (h('links?', n) % 10 < 3) {
      doc.links = [{ title: pick(LINK_TITLES, 'link', n), url: `https://www.${leadSlug}.dk/innovation/${n}` }];
    }
    return doc;
  }

  const batches = Math.ceil(cases / batchSize);
  /** Batch b: its lead's code and its items. */
  function batch(b) {
    const first = b * batchSize + 1;
    const last = Math.min(cases, first + batchSize - 1);
    const items = [];
    for (let n = first; n <= last; n++) items.push(item(n));
    return { code: leadOf(first).code, items };
  }
  return { batches, batch };
}

// ---- The service ----------------------------------------------------------------------------

/** The municipalities, then the regions, each in code order, as the service lists them. */
async function organisations(base) {
  const out = [];
  for (const kind of ['municipality', 'region']) {
    let cursor = null;
    const found = [];
    do {
      const query = new URLSearchParams({ kind, limit: '200' });
      if (cursor) query.set('cursor', cursor);
      const response = await fetch(`${base}/v1/organisations?${query}`);
      if (response.status !== 200) {
        throw new Error(`GET /v1/organisations?${query} answered ${response.status}: ${await response.text()}`);
      }
      const page = await response.json();
      found.push(...page.items.map(({ code, name }) => ({ code, name })));
      cursor = page.next_cursor;
    } while (cursor);
    found.sort((a, b) => (a.code < b.code ? -1 : a.code > b.code ? 1 : 0));
    out.push(...found);
  }
  if (out.length < 20) throw new Error(`only ${out.length} municipalities and regions are seeded`);
  return out;
}

// ---- Measuring --------------------------------------------------------------------------------

/** Samples VmRSS of pid every `ms` in a worker thread (the main thread is busy parsing). */
function rssSampler(pid, ms) {
  const stop = new Int32Array(new SharedArrayBuffer(4));
  const worker = new Worker(
    `const { workerData, parentPort } = require('node:worker_threads');
     const fs = require('node:fs');
     const { pid, ms, stop } = workerData;
     let peak = 0, samples = 0, last = 0, missed = 0;
     while (Atomics.load(stop, 0) === 0) {
       try {
         const m = /VmRSS:\\s+(\\d+) kB/.exec(fs.readFileSync('/proc/' + pid + '/status', 'latin1'));
         last = Number(m[1]);
         if (last > peak) peak = last;
         samples++;
       } catch { missed++; }
       Atomics.wait(stop, 0, 0, ms);
     }
     parentPort.postMessage({ peak_kb: peak, last_kb: last, samples, missed });`,
    { eval: true, workerData: { pid, ms, stop } },
  );
  const done = new Promise((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  return {
    async finish() {
      Atomics.store(stop, 0, 1);
      Atomics.notify(stop, 0);
      return done;
    },
  };
}

/** VmRSS and VmHWM of pid (null when the process is gone). */
function status(pid) {
  let text;
  try {
    text = readFileSync(`/proc/${pid}/status`, 'latin1');
  } catch {
    return { rss_kb: null, hwm_kb: null };
  }
  const kb = (key) => Number(new RegExp(`${key}:\\s+(\\d+) kB`).exec(text)?.[1] ?? NaN);
  return { rss_kb: kb('VmRSS'), hwm_kb: kb('VmHWM') };
}

const CLOCK_TICKS = 100; // USER_HZ on Linux

/** utime + stime of pid (own: only its own; with children: also its waited-for children's). */
function cpuTicks(pid, withChildren = false) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // f[0] is field 3 (state)
    const own = Number(f[11]) + Number(f[12]);
    return withChildren ? own + Number(f[13]) + Number(f[14]) : own;
  } catch {
    return 0;
  }
}

/** The CPU ticks of a postmaster and every live child of it (backends, autovacuum, ...). */
function postgresTicks(postmaster) {
  let total = cpuTicks(postmaster, true);
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'latin1');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(f[1]) === postmaster) total += Number(f[11]) + Number(f[12]);
    } catch {
      // gone meanwhile
    }
  }
  return total;
}

/** Busy and total jiffies of the whole machine (/proc/stat's cpu line). */
function machineTicks() {
  const f = readFileSync('/proc/stat', 'latin1').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const idle = f[3] + (f[4] || 0);
  const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

function quantile(sorted, q) {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
}

const round = (x, digits = 1) => (x === null ? null : Number(x.toFixed(digits)));

// ---- Commands ----------------------------------------------------------------------------------

function parseArgs(argv) {
  const args = {};
  for (let i = 0; i < argv.length; i++) {
    const key = argv[i];
    if (!key.startsWith('--') || i + 1 >= argv.length) throw new Error(`bad argument ${key}`);
    args[key.slice(2)] = argv[++i];
  }
  return args;
}

function positive(args, key, fallback) {
  const v = Number(args[key] ?? fallback);
  if (!Number.isInteger(v) || v < 1) throw new Error(`--${key} must be a positive integer`);
  return v;
}

async function setup(args) {
  if (!args.base) throw new Error('--base is required');
  const cases = positive(args, 'cases', 100000);
  const batchSize = positive(args, 'batch-size', 1000);
  const leads = (args.leads || DEFAULT_LEADS).split(',').filter(Boolean);
  const orgs = await organisations(args.base);
  return { cases, batchSize, leads, gen: generator({ orgs, leads, cases, batchSize }) };
}

async function check(args) {
  const { gen, cases } = await setup(args);
  const { default: Ajv2020 } = await import('ajv/dist/2020.js');
  const { default: addFormats } = await import('ajv-formats');
  const { default: YAML } = await import('yaml');
  const document = YAML.parse(readFileSync(path.join(ROOT, 'openapi/openapi.yaml'), 'utf8'));
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  ajv.addSchema(document, 'https://coi.invalid/openapi.json');
  const validate = ajv.compile({ $ref: 'https://coi.invalid/openapi.json#/components/schemas/CaseBatchItem' });
  const keys = new Set();
  let bytes = 0;
  const fields = new Map();
  for (let b = 0; b < gen.batches; b++) {
    for (const it of gen.batch(b).items) {
      if (!validate(it)) {
        throw new Error(`item ${it.external_id} is invalid: ${JSON.stringify(validate.errors)}\n${JSON.stringify(it)}`);
      }
      if (keys.has(it.external_id)) throw new Error(`external_id ${it.external_id} repeated`);
      keys.add(it.external_id);
      bytes += Buffer.byteLength(JSON.stringify(it));
      for (const k of Object.keys(it)) fields.set(k, (fields.get(k) || 0) + 1);
    }
  }
  if (args.print) {
    const n = positive(args, 'print');
    const b = gen.batch(Math.floor((n - 1) / positive(args, 'batch-size', 1000)));
    console.log(`case ${n} (lead ${b.code}):`, JSON.stringify(b.items.find((it) => it.external_id.endsWith(`-${String(n).padStart(6, '0')}`)), null, 2));
  }
  const share = [...fields].map(([k, c]) => `${k} ${Math.round((100 * c) / cases)}%`).join(', ');
  console.log(`${cases} items valid against CaseBatchItem, external_ids unique, ` +
    `${Math.round(bytes / cases)} bytes of JSON per item on average; fields: ${share}`);
}

async function push(args) {
  const pass = args.pass;
  if (pass !== 'create' && pass !== 'unchanged') throw new Error('--pass must be create or unchanged');
  const expected = pass === 'create' ? 'created' : 'unchanged';
  const format = args.format || 'ndjson';
  if (format !== 'ndjson' && format !== 'json') throw new Error('--format must be ndjson or json');
  const concurrency = positive(args, 'concurrency', 1);
  const pid = positive(args, 'pid');
  const pgPid = args['pg-pid'] ? positive(args, 'pg-pid') : null;
  if (!args.token || !args.out) throw new Error('--token and --out are required');
  const { cases, batchSize, gen } = await setup(args);

  // Every body first: the push times the service, not this generator.
  const genStarted = performance.now();
  const bodies = [];
  let bytes = 0;
  for (let b = 0; b < gen.batches; b++) {
    const { code, items } = gen.batch(b);
    const text = format === 'ndjson'
      ? `${items.map((it) => JSON.stringify(it)).join('\n')}\n`
      : JSON.stringify(items);
    const body = Buffer.from(text, 'utf8');
    bytes += body.length;
    bodies.push({ code, body, keys: items.map((it) => it.external_id) });
  }
  const genSeconds = (performance.now() - genStarted) / 1000;
  console.log(`  ${gen.batches} ${format} bodies of up to ${batchSize} items generated in ` +
    `${genSeconds.toFixed(1)} s (${(bytes / 1048576).toFixed(1)} MiB, ${Math.round(bytes / cases)} bytes per item)`);

  const headers = {
    Authorization: `Bearer ${args.token}`,
    'Content-Type': format === 'ndjson' ? 'application/x-ndjson' : 'application/json',
  };
  const results = { created: 0, updated: 0, unchanged: 0, error: 0 };
  const failures = []; // {batch, status | error, detail}
  const itemErrors = []; // the first few items that did not come back as expected
  const latencies = [];
  const timeline = []; // {batch, at_s (sent, from the push's start), ms}
  let pushStarted = 0;
  let next = 0;

  async function stream() {
    for (let b = next++; b < bodies.length; b = next++) {
      const { code, body, keys } = bodies[b];
      const started = performance.now();
      let response;
      let text;
      try {
        response = await fetch(`${args.base}/v1/organisations/${code}/cases:batch`, {
          method: 'POST', headers, body,
        });
        text = await response.text();
      } catch (e) {
        failures.push({ batch: b, error: String(e.cause?.code || e.message) });
        continue;
      }
      latencies.push(performance.now() - started);
      timeline.push({ batch: b, at_s: round((started - pushStarted) / 1000, 2), ms: round(performance.now() - started) });
      if (response.status !== 200) {
        failures.push({ batch: b, status: response.status, detail: text.slice(0, 500) });
        continue;
      }
      const answer = JSON.parse(text);
      if (answer.items.length !== keys.length) {
        failures.push({ batch: b, status: 200, detail: `${answer.items.length} results for ${keys.length} items` });
      }
      for (const [k, v] of Object.entries(answer.summary)) results[k] += v;
      for (const r of answer.items) {
        if (r.result !== expected || r.external_id !== keys[r.index]) {
          if (itemErrors.length < 10) itemErrors.push({ batch: b, code, ...r });
        }
      }
    }
  }

  const sampler = rssSampler(pid, 50);
  const machine0 = machineTicks();
  const coi0 = cpuTicks(pid);
  const pg0 = pgPid ? postgresTicks(pgPid) : 0;
  const client0 = process.cpuUsage();
  const started = performance.now();
  pushStarted = started;
  await Promise.all(Array.from({ length: Math.min(concurrency, bodies.length) }, stream));
  const seconds = (performance.now() - started) / 1000;
  const client = process.cpuUsage(client0);
  const clientCpu = (client.user + client.system) / 1e6;
  const coiCpu = (cpuTicks(pid) - coi0) / CLOCK_TICKS;
  const pgCpu = pgPid ? ((postgresTicks(pgPid)) - pg0) / CLOCK_TICKS : null;
  const machine1 = machineTicks();
  const rss = await sampler.finish();
  const after = status(pid);

  latencies.sort((a, b) => a - b);
  const out = {
    concurrency,
    pass,
    expected,
    format,
    cases,
    batch_size: batchSize,
    batches: bodies.length,
    body_mib: round(bytes / 1048576),
    seconds: round(seconds, 2),
    cases_per_second: Math.round(cases / seconds),
    peak_rss_mb: round(rss.peak_kb / 1024),
    rss_after_mb: after.rss_kb === null ? null : round(after.rss_kb / 1024),
    vmhwm_mb: after.hwm_kb === null ? null : round(after.hwm_kb / 1024),
    rss_samples: rss.samples,
    batch_ms: {
      p50: round(quantile(latencies, 0.5)),
      p95: round(quantile(latencies, 0.95)),
      max: round(latencies.at(-1) ?? null),
    },
    slowest_batches: [...timeline].sort((a, b) => b.ms - a.ms).slice(0, 5),
    results,
    // other: what the rest of the machine used meanwhile (other people's work on a shared one).
    cpu_seconds: {
      coi: round(coiCpu, 2),
      postgres: pgCpu === null ? null : round(pgCpu, 2),
      client: round(clientCpu, 2),
      other: round(Math.max(0, (machine1.busy - machine0.busy) / CLOCK_TICKS - coiCpu - (pgCpu ?? 0) - clientCpu), 2),
    },
    machine_busy_pct: Math.round((100 * (machine1.busy - machine0.busy)) / (machine1.total - machine0.total)),
    generate_seconds: round(genSeconds, 2),
    failures: failures.slice(0, 20),
    failed_requests: failures.length,
    unexpected_items: cases - results[expected],
    item_examples: itemErrors,
  };
  appendFileSync(args.out, `${JSON.stringify(out)}\n`);
  const ok = failures.length === 0 && results[expected] === cases && after.rss_kb !== null;
  if (after.rss_kb === null) console.error(`  the server (pid ${pid}) is gone`);
  console.log(`  ${pass}: ${cases} cases in ${out.seconds} s (${out.cases_per_second}/s), batch p50 ` +
    `${out.batch_ms.p50} ms, max ${out.batch_ms.max} ms; peak RSS ${out.peak_rss_mb} MB ` +
    `(${rss.samples} samples), VmHWM ${out.vmhwm_mb} MB; CPU s: coi ${out.cpu_seconds.coi}, ` +
    `postgres ${out.cpu_seconds.postgres}, client ${out.cpu_seconds.client}, other processes ` +
    `${out.cpu_seconds.other}; machine busy ` +
    `${out.machine_busy_pct}% of ${os.cpus().length} cores; results ${JSON.stringify(results)}`);
  if (!ok) {
    for (const f of failures.slice(0, 5)) console.error(`  FAILED batch ${f.batch}: ${f.status ?? ''} ${f.error ?? ''} ${f.detail ?? ''}`);
    for (const e of itemErrors.slice(0, 5)) console.error(`  UNEXPECTED item: ${JSON.stringify(e)}`);
    console.error(`bench/batch_push.mjs: ${failures.length} failed requests, ` +
      `${cases - results[expected]} of ${cases} items not "${expected}"`);
    process.exitCode = 1;
  }
}

const [command, ...rest] = process.argv.slice(2);
try {
  if (command === 'push') await push(parseArgs(rest));
  else if (command === 'check') await check(parseArgs(rest));
  else throw new Error('usage: node bench/batch_push.mjs push|check --base URL ...');
} catch (e) {
  console.error(`bench/batch_push.mjs: ${e.message}`);
  process.exitCode = 2;
}
