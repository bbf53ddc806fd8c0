/**
 * NoCloud network-config that turns cloud-init's networking off. The guest
 * has no network on purpose; without this, cloud-init writes its fallback
 * (DHCP on the first NIC) and, when a NIC exists, boot waits for a lease
 * that never comes (systemd-networkd-wait-online, ifupdown) before
 * network-online.target, which cloud-final and so our runcmd come after.
 * cloud-init (stages.py, _find_networking_config) honours
 * `config: disabled` from the datasource, with or without a `network:` key.
 */
export const NETWORK_CONFIG_DISABLED = 'network:\n  config: disabled\n';
