#!/bin/sh
# vmspec evidence collector: copies raw facts about the machine it runs on
# into a bundle (directory, tar stream, or framed base64 on the console).
#
# POSIX sh + coreutils/busybox only (runs under busybox sh, dash and bash):
# no Node, no Python, no network. It observes; the host judges. Every read
# failure is recorded in manifest.json ("unreadable", with the reason) and
# the collection goes on: one unreadable file never aborts the run.
#
# Bundle layout mirrors the guest's paths (sys/firmware/acpi/tables/APIC,
# proc/consoles, ...) so the host reads a bundle exactly as a live system.
# Command outputs (uname -a, date, dmesg) go under cmd/.
#
# Exit status: 0 collected (even with unreadable items), 1 the bundle could
# not be written, 2 usage error.

VMSPEC_COLLECTOR_VERSION=1.1.0
# Vendor GUID of vmspec's own UEFI variables (persistence test).
VMSPEC_GUID=d960bf04-3984-4c09-8f49-6e746736ed9f

umask 022
LC_ALL=C
export LC_ALL

usage() {
  cat <<'EOF'
Usage: collect.sh [--out DIR] [--tar FILE|/dev/vdX] [--console]
                  [--phase write|check --nonce N] [--root DIR] [--no-mount]

Collects firmware, console, RTC, bus and CPU facts into an evidence bundle
with a manifest.json (sha256 and size per file, unreadable items + reasons).

  --out DIR       bundle directory (created; must not exist or be empty).
                  Default: a temporary directory.
  --tar FILE      also write the bundle as a tar stream to FILE, which may be
                  a raw block device (e.g. /dev/vdb, a spare evidence disk).
  --console       also print the tar as base64 on stdout, framed by
                  "-----BEGIN VMSPEC EVIDENCE size=N sha256=H-----" and
                  "-----END VMSPEC EVIDENCE-----" lines (guests without a
                  spare disk; the host checks size and sha256).
  --phase write   create the UEFI variable VmspecNonce<N>-<vmspec GUID>
                  holding the nonce (before collecting), for the persistence
                  check after a power cycle. Needs --nonce.
  --phase check   read that variable back and record present/absent and its
                  content. Never creates it. Needs --nonce.
  --nonce N       1-64 characters [A-Za-z0-9]; use a fresh one per run
                  (non-standard variables are immutable in efivarfs).
  --root DIR      read facts below DIR instead of / (tests, offline roots);
                  implies --no-mount.
  --no-mount      do not mount efivarfs when it is not mounted.
  --help          this text.

Progress goes to stderr; stdout carries only the --console frame.
EOF
}

die_usage() {
  printf 'collect.sh: %s (try --help)\n' "$1" >&2
  exit 2
}

# Progress on stderr, with the uptime when /proc is there (read: no fork).
log() {
  lg_up=
  if [ -r /proc/uptime ]; then read -r lg_up _ < /proc/uptime; fi
  printf 'collect.sh:%s %s\n' "${lg_up:+ [$lg_up]}" "$*" >&2
}

out=
tarfile=
console=0
phase=
nonce=
root=
mount_efivarfs=1

while [ $# -gt 0 ]; do
  case $1 in
    --out) [ $# -ge 2 ] || die_usage "--out needs a directory"; out=$2; shift 2 ;;
    --out=*) out=${1#--out=}; shift ;;
    --tar) [ $# -ge 2 ] || die_usage "--tar needs a file or device"; tarfile=$2; shift 2 ;;
    --tar=*) tarfile=${1#--tar=}; shift ;;
    --console) console=1; shift ;;
    --phase) [ $# -ge 2 ] || die_usage "--phase needs write or check"; phase=$2; shift 2 ;;
    --phase=*) phase=${1#--phase=}; shift ;;
    --nonce) [ $# -ge 2 ] || die_usage "--nonce needs a value"; nonce=$2; shift 2 ;;
    --nonce=*) nonce=${1#--nonce=}; shift ;;
    --root) [ $# -ge 2 ] || die_usage "--root needs a directory"; root=$2; mount_efivarfs=0; shift 2 ;;
    --root=*) root=${1#--root=}; mount_efivarfs=0; shift ;;
    --no-mount) mount_efivarfs=0; shift ;;
    -h|--help) usage; exit 0 ;;
    *) die_usage "unknown argument: $1" ;;
  esac
done

case $phase in
  ''|write|check) ;;
  *) die_usage "--phase must be write or check, not '$phase'" ;;
esac
if [ -n "$phase" ] && [ -z "$nonce" ]; then die_usage "--phase $phase needs --nonce"; fi
if [ -n "$nonce" ]; then
  [ -n "$phase" ] || die_usage "--nonce needs --phase"
  case $nonce in
    *[!A-Za-z0-9]*) die_usage "--nonce must be letters and digits only" ;;
  esac
  [ ${#nonce} -le 64 ] || die_usage "--nonce is longer than 64 characters"
fi

# R: prefix of every source path ("" = the live system).
R=
if [ -n "$root" ]; then
  [ -d "$root" ] || die_usage "--root $root is not a directory"
  R=$(cd "$root" && pwd) || die_usage "--root $root is not accessible"
  [ "$R" = / ] && R=
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/vmspec-collect.XXXXXX") || { log "cannot create a work directory"; exit 1; }
own_out=0
if [ -z "$out" ]; then
  out=$work/bundle
  own_out=1
fi
if [ -e "$out" ] && [ ! -d "$out" ]; then rm -rf "$work"; die_usage "--out $out exists and is not a directory"; fi
if [ -d "$out" ] && [ -n "$(ls -A "$out" 2>/dev/null)" ]; then rm -rf "$work"; die_usage "--out $out is not empty"; fi
mkdir -p "$out" || { log "cannot create $out"; rm -rf "$work"; exit 1; }
out=$(cd "$out" && pwd) || { log "cannot enter $out"; rm -rf "$work"; exit 1; }

: > "$work/unreadable.tsv"
: > "$work/absent.txt"
: > "$work/links.tsv"
: > "$work/text.list"

started_at=$(date -u +%Y-%m-%dT%H:%M:%SZ)
started_epoch=$(date -u +%s)
log "version $VMSPEC_COLLECTOR_VERSION, bundle $out"

# ---------------------------------------------------------------- records

# note_unreadable GUEST_PATH REASON
note_unreadable() {
  printf '%s\t%s\n' "$1" "$2" >> "$work/unreadable.tsv"
}

# note_absent GUEST_PATH: looked for, not there (a fact, not an error)
note_absent() {
  printf '%s\n' "$1" >> "$work/absent.txt"
}

# First line of an error file, or a default.
reason_of() {
  ro_line=$(head -n 1 "$1" 2>/dev/null)
  if [ -n "$ro_line" ]; then printf '%s' "$ro_line"; else printf '%s' "$2"; fi
}

# ---------------------------------------------------------------- copying

# copy_file GUEST_PATH: copy one file's bytes into the bundle.
copy_file() {
  cf_src=$1
  if [ ! -e "$R$cf_src" ]; then
    note_absent "$cf_src"
    return 1
  fi
  if [ -d "$R$cf_src" ]; then
    note_unreadable "$cf_src" "is a directory"
    return 1
  fi
  if [ ! -f "$R$cf_src" ]; then
    note_unreadable "$cf_src" "not a regular file"
    return 1
  fi
  if [ ! -d "$out${cf_src%/*}" ] && ! mkdir -p "$out${cf_src%/*}" 2> "$work/err"; then
    note_unreadable "$cf_src" "bundle: $(reason_of "$work/err" "cannot create directory")"
    return 1
  fi
  if cat "$R$cf_src" > "$out$cf_src" 2> "$work/err"; then
    return 0
  fi
  rm -f "$out$cf_src"
  note_unreadable "$cf_src" "$(reason_of "$work/err" "read failed")"
  return 1
}

# copy_if_present GUEST_PATH: like copy_file, but absence is not noted.
copy_if_present() {
  if [ -e "$R$1" ]; then copy_file "$1"; fi
}

# copy_link GUEST_PATH: record a symlink as a symlink with the same target.
copy_link() {
  cl_target=$(readlink "$R$1" 2> "$work/err")
  if [ -z "$cl_target" ]; then
    note_unreadable "$1" "$(reason_of "$work/err" "readlink failed")"
    return 1
  fi
  if { [ -d "$out${1%/*}" ] || mkdir -p "$out${1%/*}"; } 2> "$work/err" && ln -s "$cl_target" "$out$1" 2> "$work/err"; then
    printf '%s\t%s\n' "${1#/}" "$cl_target" >> "$work/links.tsv"
    return 0
  fi
  note_unreadable "$1" "bundle: $(reason_of "$work/err" "cannot create symlink")"
  return 1
}

# text GUEST_PATH: queue a small newline-terminated text file (sysfs
# attribute, /proc text) for copy_text_files, which copies all of them in
# one awk process: forks are slow in an emulated guest. Absence is noted
# only with text_or_absent.
text() {
  if [ -f "$R$1" ]; then
    printf '%s\n' "$1" >> "$work/text.list"
  elif [ -e "$R$1" ]; then
    copy_file "$1" # not a regular file: recorded, never opened
  fi
}
text_or_absent() {
  if [ -e "$R$1" ]; then text "$1"; else note_absent "$1"; fi
}

# copy_text_files: copy the queued text files. A file awk cannot read is
# retried with copy_file, which records the reason.
copy_text_files() {
  [ -s "$work/text.list" ] || return 0
  set --
  while IFS= read -r ctf_d; do
    [ -d "$out$ctf_d" ] || set -- "$@" "$out$ctf_d"
  done <<EOT
$(sed 's#/[^/]*$##' "$work/text.list" | sort -u)
EOT
  if [ $# -gt 0 ]; then mkdir -p "$@" 2>/dev/null; fi
  : > "$work/text.failed"
  awk -v root="$R" -v out="$out" -v failed="$work/text.failed" '
    {
      src = root $0; dst = out $0; n = 0
      while ((r = (getline line < src)) > 0) { print line > dst; n++ }
      if (r < 0) print $0 > failed
      else if (n == 0) printf "" > dst
      close(src)
      if (r >= 0 || n > 0) close(dst)
    }' "$work/text.list" 2> "$work/err" || note_unreadable text-files "awk: $(reason_of "$work/err" "failed")"
  while IFS= read -r ctf_p; do
    rm -f "$out$ctf_p"
    copy_file "$ctf_p"
  done < "$work/text.failed"
  : > "$work/text.list"
}

# copy_batch GUEST_DIR GUEST_FILE...: files of one directory in one cp
# (fork+exec is slow in an emulated guest). On any error, every file is
# copied again one by one, so each failure is recorded with its reason.
copy_batch() {
  cb_dir=$1
  shift
  [ $# -gt 0 ] || return 0
  cb_n=$#
  for cb_f do set -- "$@" "$R$cb_f"; done
  shift "$cb_n"
  if cp "$@" "$out$cb_dir/" 2> "$work/err"; then return 0; fi
  for cb_f do
    rm -f "$out${cb_f#"$R"}"
    copy_file "${cb_f#"$R"}"
  done
}

# copy_tree GUEST_DIR: every file below it (symlinks kept as symlinks).
copy_tree() {
  ct_dir=$1
  if [ ! -e "$R$ct_dir" ]; then
    note_absent "$ct_dir"
    return 0
  fi
  mkdir -p "$out$ct_dir"
  find "$R$ct_dir" 2> "$work/find.err" | sort > "$work/find.list"
  if [ -s "$work/find.err" ]; then
    note_unreadable "$ct_dir" "listing incomplete: $(reason_of "$work/find.err" "find failed")"
  fi
  : > "$work/tree.files"
  while IFS= read -r ct_p; do
    [ "$ct_p" = "$R$ct_dir" ] && continue
    ct_rel=${ct_p#"$R"}
    if [ -L "$ct_p" ]; then
      copy_link "$ct_rel"
    elif [ -d "$ct_p" ]; then
      [ -d "$out$ct_rel" ] || mkdir -p "$out$ct_rel"
    elif [ -f "$ct_p" ]; then
      printf '%s\n' "$ct_rel" >> "$work/tree.files"
    else
      note_unreadable "$ct_rel" "not a regular file"
    fi
  done < "$work/find.list"
  # One cp per run of files in the same directory.
  ct_cur=
  set --
  while IFS= read -r ct_f; do
    if [ "${ct_f%/*}" != "$ct_cur" ]; then
      copy_batch "$ct_cur" "$@"
      ct_cur=${ct_f%/*}
      set --
    fi
    set -- "$@" "$ct_f"
  done < "$work/tree.files"
  copy_batch "$ct_cur" "$@"
}

# run_cmd NAME COMMAND...: stdout into cmd/NAME.
run_cmd() {
  rc_name=$1
  shift
  mkdir -p "$out/cmd"
  if "$@" > "$out/cmd/$rc_name" 2> "$work/err"; then
    return 0
  fi
  note_unreadable "cmd:$rc_name" "$(reason_of "$work/err" "command failed: $*")"
  [ -s "$out/cmd/$rc_name" ] || rm -f "$out/cmd/$rc_name"
  return 1
}

# ---------------------------------------------------------------- efivarfs

efivars=/sys/firmware/efi/efivars
efivarfs_state=no-efi
efivarfs_mounted_by_us=0
if [ -d "$R/sys/firmware/efi" ]; then
  if [ "$mount_efivarfs" = 1 ]; then
    if grep -q "^[^ ]* $efivars efivarfs " /proc/mounts 2>/dev/null; then
      efivarfs_state=already-mounted
    elif mkdir -p "$efivars" 2>/dev/null && mount -t efivarfs efivarfs "$efivars" 2> "$work/err"; then
      efivarfs_state=mounted
      efivarfs_mounted_by_us=1
    else
      efivarfs_state=mount-failed
      note_unreadable "$efivars" "mount -t efivarfs failed: $(reason_of "$work/err" "unknown error")"
    fi
  else
    efivarfs_state=not-mounted-by-request
  fi
fi
if [ "$phase" = write ] && [ "$efivarfs_state" = already-mounted ] &&
   grep -q "^[^ ]* $efivars efivarfs ro[, ]" /proc/mounts 2>/dev/null; then
  if mount -o remount,rw "$efivars" 2> "$work/err"; then
    efivarfs_state=remounted-rw
  else
    note_unreadable "$efivars" "remount rw failed: $(reason_of "$work/err" "unknown error")"
  fi
fi

# Variables are usable only through a mounted efivarfs (the directory itself
# always exists in sysfs); under --root, a directory stands in for it.
efivars_ok=0
if [ -n "$R" ]; then
  [ -d "$R$efivars" ] && efivars_ok=1
elif grep -q "^[^ ]* $efivars efivarfs " /proc/mounts 2>/dev/null; then
  efivars_ok=1
fi

# ---------------------------------------------------------------- nonce

var_name=
var_result=
var_content=
var_attrs=
var_reason=
if [ -n "$phase" ]; then
  var_name="VmspecNonce$nonce-$VMSPEC_GUID"
  var_path="$R$efivars/$var_name"
  if [ "$efivars_ok" != 1 ]; then
    var_result=unavailable
    var_reason="no efivarfs mounted at $efivars ($efivarfs_state)"
  elif [ "$phase" = write ]; then
    if [ -e "$var_path" ]; then
      var_result=already-present
      var_reason="a variable with this nonce exists already (use a fresh nonce)"
    else
      # attributes NON_VOLATILE|BOOTSERVICE_ACCESS|RUNTIME_ACCESS (0x7, LE),
      # then the nonce. efivarfs needs the whole variable in one write():
      # dd with a block size larger than the payload does exactly one.
      printf '\007\000\000\000%s' "$nonce" > "$work/var.bin"
      if dd if="$work/var.bin" of="$var_path" bs=4096 count=1 2> "$work/err"; then
        var_result=written
      else
        var_result=write-failed
        var_reason=$(reason_of "$work/err" "write failed")
      fi
    fi
    log "phase write: $var_name $var_result"
  else
    if [ -e "$var_path" ]; then
      var_result=present
    else
      var_result=absent
    fi
    log "phase check: $var_name $var_result"
  fi
  if [ -f "$var_path" ] && [ "$var_result" != unavailable ]; then
    if var_content=$(tail -c +5 "$var_path" 2> "$work/err"); then
      var_attrs=$(od -An -tx1 -N4 "$var_path" 2>/dev/null | tr -d ' \n')
    else
      var_reason=$(reason_of "$work/err" "read back failed")
      var_content=
    fi
  fi
fi

# ---------------------------------------------------------------- facts

log "firmware tables"
copy_tree /sys/firmware/acpi/tables
copy_file /sys/firmware/fdt
if [ -e "$R/sys/firmware/devicetree" ]; then
  mkdir -p "$out/sys/firmware/devicetree/base"
  # NUL-separated strings: binary, so cat.
  copy_if_present /sys/firmware/devicetree/base/compatible
  copy_if_present /sys/firmware/devicetree/base/model
else
  note_absent /sys/firmware/devicetree
fi
copy_tree /sys/firmware/dmi/tables
if [ -d "$R/sys/class/dmi/id" ]; then
  for a in sys_vendor product_name product_version product_serial product_uuid product_family \
           bios_vendor bios_version bios_date bios_release board_vendor board_name \
           chassis_type chassis_vendor; do
    text "/sys/class/dmi/id/$a"
  done
else
  note_absent /sys/class/dmi/id
fi

log "uefi"
if [ -d "$R/sys/firmware/efi" ]; then
  mkdir -p "$out/sys/firmware/efi"
  for a in systab fw_platform_size runtime config_table fw_vendor; do
    text_or_absent "/sys/firmware/efi/$a"
  done
  if [ "$efivars_ok" = 1 ]; then
    copy_tree "$efivars"
  else
    note_absent "$efivars"
  fi
else
  note_absent /sys/firmware/efi
fi

log "console, rtc, buses, cpu"
text_or_absent /proc/consoles
text /proc/tty/drivers
if [ -d "$R/proc/tty/driver" ]; then
  # Root only: cat, so a permission problem is recorded with its reason.
  for f in "$R"/proc/tty/driver/*; do
    [ -e "$f" ] || continue
    copy_file "${f#"$R"}"
  done
else
  note_absent /proc/tty/driver
fi
if [ -d "$R/sys/class/tty" ]; then
  for d in "$R"/sys/class/tty/*; do
    [ -e "$d/type" ] && text "${d#"$R"}/type"
  done
else
  note_absent /sys/class/tty
fi

if [ -d "$R/sys/class/rtc" ]; then
  mkdir -p "$out/sys/class/rtc"
  for d in "$R"/sys/class/rtc/*; do
    [ -e "$d" ] || continue
    for a in name since_epoch hctosys max_user_freq; do
      text "${d#"$R"}/$a"
    done
    # Reading the time can fail (RTC not set): cat records the reason.
    copy_if_present "${d#"$R"}/date"
    copy_if_present "${d#"$R"}/time"
  done
else
  note_absent /sys/class/rtc
fi
copy_if_present /proc/driver/rtc

if [ -d "$R/sys/bus/pci/devices" ]; then
  mkdir -p "$out/sys/bus/pci/devices"
  for d in "$R"/sys/bus/pci/devices/*; do
    [ -e "$d" ] || continue
    p=${d#"$R"}
    for a in vendor device class revision subsystem_vendor subsystem_device; do
      text "$p/$a"
    done
    if [ -L "$d/driver" ]; then copy_link "$p/driver"; fi
    # PCI-to-PCI bridges (PCIe root and switch ports): their configuration
    # space holds the PCI Express Capability, whose Slot Capabilities say
    # whether the slot is Hot-Plug Capable. Bytes past 0x40 need root.
    pci_class=
    [ -r "$d/class" ] && read -r pci_class < "$d/class"
    case $pci_class in 0x0604*) copy_file "$p/config" ;; esac
  done
else
  note_absent /sys/bus/pci/devices
fi
# Hot-plug slots the kernel registered (pciehp, acpiphp): the directory is
# kept even when empty, so "no slots" is evidence too.
if [ -d "$R/sys/bus/pci/slots" ]; then
  mkdir -p "$out/sys/bus/pci/slots"
  for d in "$R"/sys/bus/pci/slots/*; do
    [ -d "$d" ] || continue
    mkdir -p "$out${d#"$R"}"
    text "${d#"$R"}/address"
  done
else
  note_absent /sys/bus/pci/slots
fi

if [ -d "$R/sys/bus/xen/devices" ]; then
  mkdir -p "$out/sys/bus/xen/devices"
  for d in "$R"/sys/bus/xen/devices/*; do
    if [ -L "$d" ]; then
      copy_link "${d#"$R"}"
    elif [ -e "$d" ]; then
      mkdir -p "$out${d#"$R"}"
    fi
  done
else
  note_absent /sys/bus/xen/devices
fi
text /sys/hypervisor/type

text_or_absent /proc/cpuinfo
text_or_absent /proc/interrupts
text_or_absent /proc/meminfo
copy_if_present /proc/iomem
for a in online possible present offline kernel_max; do
  text "/sys/devices/system/cpu/$a"
done
# The clocksource the kernel reads (arch_sys_counter: the Generic Timer's counter).
for a in current_clocksource available_clocksource; do
  text "/sys/devices/system/clocksource/clocksource0/$a"
done

log "kernel"
text_or_absent /proc/version
text_or_absent /proc/cmdline
text_or_absent /proc/modules
text /proc/sys/kernel/osrelease
kernel_release=$(uname -r 2>/dev/null)
if [ -e "$R/proc/config.gz" ]; then
  copy_file /proc/config.gz
elif [ -n "$kernel_release" ] && [ -e "$R/boot/config-$kernel_release" ]; then
  copy_file "/boot/config-$kernel_release"
else
  note_absent /proc/config.gz
  note_absent "/boot/config-$kernel_release"
fi
# --- GUEST-1..4 from the booted kernel (spec-words): what the running
# system could load, for images whose root vmspec cannot read. Absent files
# leave those clauses undecided, never failed. ---
text_or_absent /proc/mounts
if [ -n "$kernel_release" ] && [ -d "$R/lib/modules/$kernel_release" ]; then
  copy_if_present "/lib/modules/$kernel_release/modules.builtin"
  copy_if_present "/lib/modules/$kernel_release/modules.dep"
  run_cmd module-files find "$R/lib/modules/$kernel_release" -name '*.ko*'
fi
# --- end GUEST from the booted kernel ---
copy_text_files
run_cmd uname-a uname -a
run_cmd date-u date -u +%s
run_cmd dmesg dmesg
if [ -r "$R/proc/uptime" ]; then
  read -r up_now _ < "$R/proc/uptime" && printf '%s\n' "$up_now" > "$out/cmd/uptime"
fi

if [ "$efivarfs_mounted_by_us" = 1 ]; then
  umount "$efivars" 2>/dev/null || true
fi

finished_at=$(date -u +%Y-%m-%dT%H:%M:%SZ)
finished_epoch=$(date -u +%s)

# ---------------------------------------------------------------- manifest

log "manifest"
(cd "$out" && find . -type f ! -path ./manifest.json) | sort > "$work/files.list"
: > "$work/sums"
: > "$work/sizes"
if [ -s "$work/files.list" ]; then
  # Backslash-escape every character so xargs takes names literally.
  sed 's/./\\&/g' "$work/files.list" > "$work/files.xargs"
  (cd "$out" && xargs sha256sum < "$work/files.xargs") > "$work/sums" 2> "$work/err" ||
    note_unreadable manifest "sha256sum: $(reason_of "$work/err" "failed")"
  (cd "$out" && xargs wc -c < "$work/files.xargs") > "$work/sizes" 2> "$work/err" ||
    note_unreadable manifest "wc: $(reason_of "$work/err" "failed")"
fi

opt_tar=false
[ -n "$tarfile" ] && opt_tar=true
opt_console=false
[ "$console" = 1 ] && opt_console=true

awk -v version="$VMSPEC_COLLECTOR_VERSION" -v guid="$VMSPEC_GUID" \
    -v started_at="$started_at" -v started_epoch="$started_epoch" \
    -v finished_at="$finished_at" -v finished_epoch="$finished_epoch" \
    -v root="${R:-/}" -v efivarfs_state="$efivarfs_state" \
    -v opt_tar="$opt_tar" -v opt_console="$opt_console" \
    -v phase="$phase" -v nonce="$nonce" -v var_name="$var_name" -v var_result="$var_result" \
    -v var_content="$var_content" -v var_attrs="$var_attrs" -v var_reason="$var_reason" \
    -v sums="$work/sums" -v sizes="$work/sizes" -v links="$work/links.tsv" \
    -v unreadable="$work/unreadable.tsv" -v absent="$work/absent.txt" -v summary="$work/summary" '
function esc(s,   out, i, c) {
  if (s !~ /[^ -~]/ && index(s, "\\") == 0 && index(s, "\"") == 0) return "\"" s "\""
  out = ""
  for (i = 1; i <= length(s); i++) {
    c = substr(s, i, 1)
    if (c == "\\") out = out "\\\\"
    else if (c == "\"") out = out "\\\""
    else if (c < " " || c > "~") out = out "?"
    else out = out c
  }
  return "\"" out "\""
}
function num(s) { return (s ~ /^[0-9]+$/) ? s : "null" }
function rel(p) { sub(/^\.\//, "", p); return p }
BEGIN {
  nf = 0
  while ((getline line < sums) > 0) {
    h = substr(line, 1, 64); p = substr(line, 67)
    if (h !~ /^[0-9a-f]+$/) continue
    p = rel(p)
    if (!(p in sha)) order[++nf] = p
    sha[p] = h
  }
  while ((getline line < sizes) > 0) {
    sub(/^ */, "", line)
    sp = index(line, " ")
    if (sp == 0) continue
    s = substr(line, 1, sp - 1); p = substr(line, sp + 1)
    if (p !~ /^\.\//) continue
    size[rel(p)] = s
  }
  printf "{\n  \"format\": \"vmspec-evidence\",\n  \"formatVersion\": 1,\n"
  printf "  \"collector\": { \"name\": \"collect.sh\", \"version\": %s },\n", esc(version)
  printf "  \"startedAt\": %s,\n  \"startedAtEpoch\": %s,\n", esc(started_at), num(started_epoch)
  printf "  \"finishedAt\": %s,\n  \"finishedAtEpoch\": %s,\n", esc(finished_at), num(finished_epoch)
  printf "  \"root\": %s,\n  \"efivarfs\": %s,\n", esc(root), esc(efivarfs_state)
  printf "  \"outputs\": { \"tar\": %s, \"console\": %s },\n", opt_tar, opt_console
  if (phase == "") printf "  \"efiVariableTest\": null,\n"
  else {
    printf "  \"efiVariableTest\": { \"phase\": %s, \"nonce\": %s, \"guid\": %s, \"name\": %s, \"result\": %s", esc(phase), esc(nonce), esc(guid), esc(var_name), esc(var_result)
    printf ", \"content\": %s, \"attributes\": %s, \"reason\": %s },\n", (var_content == "" ? "null" : esc(var_content)), (var_attrs == "" ? "null" : esc(var_attrs)), (var_reason == "" ? "null" : esc(var_reason))
  }
  printf "  \"files\": {"
  for (i = 1; i <= nf; i++) {
    p = order[i]
    printf "%s\n    %s: { \"size\": %s, \"sha256\": %s }", (i > 1 ? "," : ""), esc(p), num(size[p]), esc(sha[p])
  }
  printf "%s},\n", (nf > 0 ? "\n  " : "")
  printf "  \"symlinks\": {"
  n = 0
  while ((getline line < links) > 0) {
    t = index(line, "\t"); if (t == 0) continue
    printf "%s\n    %s: %s", (n++ ? "," : ""), esc(rel(substr(line, 1, t - 1))), esc(substr(line, t + 1))
  }
  printf "%s},\n", (n > 0 ? "\n  " : "")
  printf "  \"absent\": ["
  n = 0
  while ((getline line < absent) > 0) printf "%s\n    %s", (n++ ? "," : ""), esc(line)
  printf "%s],\n", (n > 0 ? "\n  " : "")
  printf "  \"unreadable\": ["
  n = 0
  while ((getline line < unreadable) > 0) {
    t = index(line, "\t"); if (t == 0) continue
    printf "%s\n    { \"path\": %s, \"reason\": %s }", (n++ ? "," : ""), esc(substr(line, 1, t - 1)), esc(substr(line, t + 1))
  }
  printf "%s]\n}\n", (n > 0 ? "\n  " : "")
  print nf, n > summary
}' > "$out/manifest.json" 2> "$work/err" || {
  log "cannot write manifest.json: $(reason_of "$work/err" "awk failed")"
  rm -rf "$work"
  exit 1
}

status=0
n_files=0
n_unreadable=0
if [ -r "$work/summary" ]; then read -r n_files n_unreadable < "$work/summary"; fi
log "$n_files files, $n_unreadable unreadable"

# ---------------------------------------------------------------- outputs

if [ -n "$tarfile" ]; then
  if tar -cf "$tarfile" -C "$out" . 2> "$work/err"; then
    sync
    log "tar written to $tarfile"
  else
    log "tar to $tarfile failed: $(reason_of "$work/err" "unknown error")"
    status=1
  fi
fi

if [ "$console" = 1 ]; then
  if tar -cf "$work/bundle.tar" -C "$out" . 2> "$work/err"; then
    c_sum=$(sha256sum < "$work/bundle.tar")
    c_sum=${c_sum%% *}
    c_size=$(wc -c < "$work/bundle.tar" | tr -d ' ')
    printf '%s\n' "-----BEGIN VMSPEC EVIDENCE size=$c_size sha256=$c_sum-----"
    base64 < "$work/bundle.tar"
    printf '%s\n' "-----END VMSPEC EVIDENCE-----"
  else
    log "console tar failed: $(reason_of "$work/err" "unknown error")"
    status=1
  fi
fi

if [ "$own_out" = 1 ] && { [ -n "$tarfile" ] || [ "$console" = 1 ]; }; then
  rm -rf "$work"
else
  rm -f "$work/find.list" "$work/find.err" "$work/err" "$work/files.list" "$work/files.xargs" \
    "$work/sums" "$work/sizes" "$work/links.tsv" "$work/unreadable.tsv" "$work/absent.txt" \
    "$work/var.bin" "$work/bundle.tar" "$work/text.list" "$work/text.failed" "$work/summary" "$work/tree.files"
  if [ "$own_out" = 1 ]; then
    log "bundle left in $out"
  else
    rmdir "$work" 2>/dev/null || true
  fi
fi
exit $status
