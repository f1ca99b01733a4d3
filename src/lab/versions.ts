/**
 * Pinned versions of everything the lab builds from source. Bumping one changes its cache key,
 * so the next `ensure*` call rebuilds it.
 */

/** Newest 1.16.x on the Go module proxy: the last MPL-2.0 line (1.17+ is BSL). */
export const CONSUL_VERSION = '1.16.6';

export const CONSUL_TEMPLATE_VERSION = '0.41.1';

/**
 * The releases before the pinned ones, which `lab build --previous` adds to the lab's release
 * mirror, so that an upgrade can be tried on the lab (the day-2 suite installs them, then
 * upgrades). 1.16.4 and 1.16.5 are not to be had from the Go module proxy here.
 */
export const PREVIOUS_CONSUL_VERSION = '1.16.3';
export const PREVIOUS_CONSUL_TEMPLATE_VERSION = '0.41.0';

/**
 * A consul other than the pinned one is compiled against the pinned release's dependency set, so
 * that the Go build cache already holds every dependency and only consul's own packages compile
 * (a whole consul costs about 9 minutes of a 2-core machine; this about a third of it). These
 * modules keep the older release's own version, because its code uses an API they changed since.
 */
export const OLDER_CONSUL_OWN_MODULES: readonly string[] = ['github.com/hashicorp/hcp-sdk-go'];

/** Pebble with ACME Renewal Information (RFC 9773), built for the ARI integration test (Debian's pebble is 2.4). */
export const PEBBLE_VERSION = '2.10.3';

/** Tag of the demo app image; bump when its entrypoint changes. */
export const DEMO_APP_VERSION = '3';

/**
 * Consul's go.mod replaces its own submodules with in-tree copies, which are not in the consul
 * module's zip; a wrapper module ignores those replaces, so it must pick published releases that
 * match the 1.16 code. Consul 1.16.6's go.mod names api v1.25.1, but that one already has 1.17's
 * RaftLeaderTransfer(id, q) signature: v1.25.0 is the newest with 1.16's. troubleshoot: consul
 * 1.16.6 imports troubleshoot/ports, which no troubleshoot release before v0.6.0 contains.
 */
export const CONSUL_SUBMODULES: Readonly<Record<string, string>> = {
  'github.com/hashicorp/consul/api': 'v1.25.0',
  'github.com/hashicorp/consul/envoyextensions': 'v0.4.1',
  'github.com/hashicorp/consul/proto-public': 'v0.4.1',
  'github.com/hashicorp/consul/sdk': 'v0.15.0',
  'github.com/hashicorp/consul/troubleshoot': 'v0.6.0',
};

/** Module versions the proxy serves but the checksum database it mirrors does not know (404). */
export const CONSUL_NOSUMDB = ['github.com/hashicorp/consul/envoyextensions', 'github.com/hashicorp/consul/troubleshoot'];

/** Upstart 1.13.2 (the last Ubuntu release) and the libnih it needs; built from given sources. */
export const UPSTART_VERSION = '1.13.2';
export const LIBNIH_VERSION = '1.0.4';
