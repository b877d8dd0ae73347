// fhir-kit-client against Carnet's FHIR door, as generic software uses it: follow references
// (resolve), read versions (vread), page through a search (nextPage), patch. Driven by
// tests/fhir/test_fhir_kit.py, which starts the server and reads what this prints (JSON).
import { Client } from 'fhir-kit-client';

const { CARNET_FHIR, CARNET_TOKEN, CARNET_INS } = process.env;
const client = new Client({ baseUrl: CARNET_FHIR, bearerToken: CARNET_TOKEN });
const out = {};

const target = `urn:oid:1.2.250.1.213.1.4.8|${CARNET_INS}`;
let bundle = await client.search({
  resourceType: 'DocumentReference',
  searchParams: { 'patient.identifier': target, status: 'current', _count: 2 },
});
out.total = bundle.total;
out.pages = [];
while (bundle) {
  out.pages.push(bundle.entry.filter((e) => e.search.mode === 'match').map((e) => e.resource.id));
  bundle = await client.nextPage({ bundle });
}

const first = out.pages[0][0];
const document = await client.read({ resourceType: 'DocumentReference', id: first });
const subject = await client.resolve({ reference: document.subject.reference });
out.subject = { resourceType: subject.resourceType, id: subject.id };

const version = await client.vread({
  resourceType: 'DocumentReference',
  id: first,
  version: document.meta.versionId,
});
out.vread = version.meta.versionId;

const patched = await client.patch({
  resourceType: 'DocumentReference',
  id: first,
  jsonPatch: [{ op: 'add', path: '/extension/0/valueBoolean', value: true }],
});
out.patched = patched.meta.versionId;

const lists = await client.search({
  resourceType: 'List',
  searchParams: { 'patient.identifier': target, code: 'submissionset' },
});
out.listItems = [];
for (const entry of lists.entry) {
  for (const item of entry.resource.entry) {
    const resolved = await client.resolve({ reference: item.item.reference });
    out.listItems.push(resolved.id);
  }
}
const binary = await client.resolve({ reference: document.content[0].attachment.url });
out.binary = binary.resourceType;

try {
  await client.read({ resourceType: 'Patient', id: '0'.repeat(32) });
  out.absent = 'found';
} catch (error) {
  out.absent = error.response?.status ?? String(error);
}
console.log(JSON.stringify(out));
