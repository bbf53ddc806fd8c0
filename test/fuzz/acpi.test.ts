import t from 'tap';
import { fuzz } from './harness.js';
import { acpiTarget } from './targets/acpi.js';

/** Every ACPI table parser under mutations of QEMU's, iasl's and our ARM tables, and random bytes. */

t.test('ACPI tables: RSDP, XSDT, FADT, MADT, GTDT, SPCR, DBG2, MCFG, IORT, PPTT, DSDT/SSDT', async (t) => {
  const stats = fuzz(t, acpiTarget);
  t.ok(stats.counts.ok > 0 && stats.counts.ParseError > 0, 'the cases reach both parsed and refused tables');
  t.ok(stats.distinctErrors >= 20, `mutations reach many different checks (${stats.distinctErrors})`);
});
