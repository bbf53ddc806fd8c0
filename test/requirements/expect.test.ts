import t from 'tap';
import { describe, factAt, match } from '../../requirements/expect.js';
import type { Json } from '../../probes/types.js';

const facts: Json = {
  gpt: { present: true, primary: { headerCrc: { valid: true, stored: '0x1a2b' } }, problems: [] },
  partitions: [
    { number: 1, typeGuid: 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B', sizeBytes: 104857600, name: 'EFI' },
    { number: 2, typeGuid: 'B921B045-1DF0-41C3-AF44-4C6F280D3FAE', sizeBytes: 2e9, name: 'root' },
  ],
  label: 'FAT32   ',
  none: null,
};

t.test('factAt walks objects and array indexes', async (t) => {
  t.equal(factAt(facts, 'gpt.primary.headerCrc.valid'), true);
  t.equal(factAt(facts, 'partitions.1.number'), 2);
  t.equal(factAt(facts, 'partitions.x'), undefined);
  t.equal(factAt(facts, 'gpt.missing.deeper'), undefined);
  t.same(factAt(facts, '.'), facts);
  t.equal(factAt(facts, 'constructor'), undefined, 'no prototype lookups');
});

t.test('each operator passes and fails with path, expected and actual', async (t) => {
  t.same(match(facts, [{ fact: 'gpt.present', equals: true }]), []);
  const [m] = match(facts, [{ fact: 'gpt.present', equals: false, because: 'why' }]);
  t.match(m, { path: 'gpt.present', expected: false, actual: true, reason: /differs \(why\)/ });

  t.same(match(facts, [{ fact: 'gpt', subset: { primary: { headerCrc: { valid: true } } } }]), []);
  t.equal(match(facts, [{ fact: 'gpt', subset: { primary: { headerCrc: { valid: false } } } }]).length, 1);

  t.same(match(facts, [{ fact: 'partitions.0.sizeBytes', gte: 100 * 1024 * 1024 }]), []);
  t.match(match(facts, [{ fact: 'partitions.0.sizeBytes', gte: 2e8 }])[0], { reason: /less than/ });
  t.same(match(facts, [{ fact: 'partitions.0.number', lte: 1 }]), []);
  t.match(match(facts, [{ fact: 'label', lte: 1 }])[0], { reason: /not a number/ });

  t.same(match(facts, [{ fact: 'partitions.1.name', oneOf: ['root', 'rootfs'] }]), []);
  t.equal(match(facts, [{ fact: 'partitions.1.name', oneOf: ['EFI'] }]).length, 1);

  t.same(match(facts, [{ fact: 'label', matches: '^FAT32\\s*$' }]), []);
  t.match(match(facts, [{ fact: 'gpt.present', matches: 'x' }])[0], { reason: /not a string/ });

  t.same(match(facts, [{ fact: 'label', contains: 'FAT' }]), []);
  t.same(match(facts, [{ fact: 'partitions', contains: facts.partitions && (facts as { partitions: Json[] }).partitions[0]! }]), []);
  t.equal(match(facts, [{ fact: 'gpt.problems', contains: 'x' }]).length, 1);

  t.same(match(facts, [{ fact: 'none', exists: false }, { fact: 'absent', exists: false }, { fact: 'gpt', exists: true }]), []);
  t.match(match(facts, [{ fact: 'none', exists: true }])[0], { reason: 'is absent' });
});

t.test('every and some apply nested expectations per element', async (t) => {
  t.same(match(facts, [{ fact: 'partitions', every: [{ fact: 'number', gte: 1 }] }]), []);
  const bad = match(facts, [{ fact: 'partitions', every: [{ fact: 'sizeBytes', lte: 2e8 }] }]);
  t.equal(bad.length, 1);
  t.equal(bad[0]!.path, 'partitions.1.sizeBytes', 'names the failing element');
  t.same(match(facts, [{ fact: 'partitions', some: [{ fact: 'typeGuid', equals: 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B' }] }]), []);
  const none = match(facts, [{ fact: 'partitions', some: [{ fact: 'name', equals: 'nope' }] }]);
  t.match(none[0], { path: 'partitions', reason: /no element of 2/ });
  t.same(match(facts, [{ fact: 'gpt.problems', every: [{ fact: '.', equals: 'x' }] }]), [], 'vacuous on empty list');
  t.match(match(facts, [{ fact: 'label', some: [{ fact: '.', equals: 1 }] }])[0], { reason: 'is not a list' });
});

t.test('describe phrases expectations for people', async (t) => {
  t.equal(describe({ fact: 'gpt.present', equals: true }), 'gpt.present = true');
  t.equal(describe({ fact: 'n', gte: 3 }), 'n ≥ 3');
  t.match(describe({ fact: 'partitions', some: [{ fact: 'typeGuid', equals: 'X' }] }), /^some partitions has typeGuid = "X"$/);
});
