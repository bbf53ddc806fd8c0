import { Option, type Command } from 'commander';
import { addReportOptions } from '../reports/commands.js';
import { addSelectionOptions, selectionFrom } from '../runner/selection-options.js';

/**
 * `vmspec reference build`: build (or find cached) the built-in reference
 * image from Debian arm64 packages. Heavy modules load only when it runs.
 */
export function addReferenceCommands(program: Command): void {
  const reference = program.command('reference').description('the built-in reference image (built locally from Debian arm64 packages)');
  reference
    .command('build')
    .description('build the reference image, or find it in the cache, and print its path')
    .option('--cache-dir <dir>', 'cache root (default: $XDG_CACHE_HOME/vmspec or ~/.cache/vmspec)')
    .option('--force', 'rebuild even when a cached build exists')
    .option('--json', 'print the build record (packages, versions, sha256 of every file) as JSON')
    .action(async (o: { cacheDir?: string; force?: boolean; json?: boolean }) => {
      const { buildReferenceImage } = await import('./reference/build.js');
      const { progressReporter } = await import('../reports/progress.js');
      const progress = progressReporter();
      try {
        const ref = await buildReferenceImage({
          ...(o.cacheDir ? { cacheDir: o.cacheDir } : {}),
          ...(o.force ? { force: true } : {}),
          onProgress: progress.update,
        });
        progress.done(ref.cached ? 'reference image (cached)' : 'reference image built');
        process.stdout.write(o.json ? `${JSON.stringify({ image: ref.image, ...ref.info }, null, 2)}\n` : `${ref.image}\n`);
      } catch (e) {
        progress.fail();
        throw e;
      }
    });
}

const BOOT_HELP = `
What it does:
  1. obtain the image (a path, an http(s)/file URL with a pinned checksum, or a
     named reference; none given: the built-in reference)
  2. verify it statically; a failing MUST image clause stops here (--force boots anyway)
  3. find UEFI firmware from QEMU's firmware descriptors (or --firmware)
  4. boot 1: write a test UEFI variable; boot 2 (power cycle, same variable
     store): check it. --gic both (default) gives boot 1 a GICv2, boot 2 a GICv3
  5. read each boot's evidence disk, the serial logs and the variable store,
     and report one verdict per clause

Exit codes:
  0    every selected MUST/SHALL clause passed (or was waived)
  1    a MUST/SHALL clause failed, or the image is not compliant (without --force)
  2    usage or input error (bad option, unreadable image, download or checksum failure)
  3    a boot failed (timeout, QEMU error, no evidence): the serial log path and tail are shown
  130  interrupted (SIGINT); 143: terminated (SIGTERM). QEMU is stopped, temporary files removed`;

/** `vmspec boot`: the original vmspec-boot, rebuilt (boot/run.ts). */
export function addBootCommands(program: Command): void {
  const cmd = addReportOptions(addSelectionOptions(
    program
      .command('boot')
      .description('boot an image under QEMU with UEFI firmware, collect evidence inside it twice (with a power cycle), and verify everything, clause by clause')
      .argument('[image]', 'disk image path (raw or qcow2, never modified) or http(s)/file URL; default: the built-in reference'),
  ));
  cmd
    .option('--reference <name>', 'a named reference image from boot/references.yaml (builtin: built locally from Debian packages)')
    .option('--sha256 <hex>', 'expected sha256 of a downloaded image')
    .option('--sha512 <hex>', 'expected sha512 of a downloaded image')
    .option('--sums <url>', 'a SHA256SUMS/SHA512SUMS/CHECKSUM file listing the downloaded image')
    .option('--allow-unverified', 'download without any checksum (not recommended)')
    .option('--cache-dir <dir>', 'cache root for downloads and the built-in reference (default: $XDG_CACHE_HOME/vmspec)')
    .option('--firmware <code>', 'UEFI firmware code (pflash 0) instead of the QEMU firmware descriptors')
    .option('--vars-template <vars>', 'variable-store template copied per VM (pflash 1); with --firmware')
    .option('--firmware-feature <feature>', 'require a descriptor feature (e.g. secure-boot), or exclude it with no-FEATURE; repeatable', (v: string, p: string[] = []) => [...p, v])
    .addOption(new Option('--gic <version>', 'GIC of boot 1 and boot 2: both = GICv2 then GICv3').choices(['2', '3', 'both']).default('both'))
    .option('--acpi', 'boot with ACPI tables (the default)')
    .option('--no-acpi', 'boot with a device tree only (-M virt,acpi=off)')
    .option('--no-persistent-vars', 'give boot 2 a fresh variable store (shows what a hypervisor that loses variables fails)')
    .addOption(new Option('--cloud-init <mode>', 'run the collector through a cloud-init NoCloud seed: auto (when the image has cloud-init), on, off (the image runs collect.sh itself)').choices(['auto', 'on', 'off']).default('auto'))
    .addOption(new Option('--hypervisor <name>', 'qemu boots here; xen prints an xl configuration (with --dry-run)').choices(['qemu', 'xen']).default('qemu'))
    .option('--dry-run', 'print what would run (for xen: the xl domain configuration) and exit')
    .option('--qemu <path>', 'qemu-system-aarch64 to use (default: from PATH)')
    .option('--qemu-arg <arg>', 'extra QEMU argument, passed as is; repeatable', (v: string, p: string[] = []) => [...p, v])
    .option('--memory <MiB>', 'guest memory', '1024')
    .option('--cpus <n>', 'guest CPUs', '2')
    .option('--timeout <seconds>', 'per boot: stop QEMU after this long', '300')
    .addOption(new Option('--accel <accel>', 'kvm (aarch64 host with /dev/kvm), tcg, or auto').choices(['auto', 'kvm', 'tcg']).default('auto'))
    .option('--force', 'boot even when the image fails a mandatory image clause')
    .addOption(new Option('--backing <mode>', 'qcow2 backing files: refuse, or follow (read-only; QEMU then opens the chain too)').choices(['follow', 'refuse']).default('refuse'))
    .option('--keep', 'keep the work directory (variable stores, evidence disks, serial logs) and print its path')
    .option('--work-dir <dir>', 'where the per-run work directory is made (default: the system temporary directory)')
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'html', 'md', 'junit', 'tap', 'json']).default('text'))
    .option('-o, --output <file>', 'write the report to a file (atomically) instead of standard output')
    .option('-v, --verbose', 'show the reason for passing clauses too, and remediation for failures')
    .addHelpText('after', BOOT_HELP)
    .action(async (image: string | undefined, o: Record<string, unknown>) => {
      const [{ bootAction }, { defaultParts }] = await Promise.all([import('./boot-command.js'), import('./real-parts.js')]);
      await bootAction(image, o as unknown as Parameters<typeof bootAction>[1], selectionFrom(o), defaultParts);
    });
}
