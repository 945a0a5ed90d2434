/**
 * The {@code standalone} store: Kubernetes-shaped YAML files in one directory, so no cluster is
 * needed and the files can later be moved into one with {@code kubectl apply -f}.
 *
 * <pre>
 * &lt;dir&gt;/secret-siderolink.yaml                      Secret siderolink (mode 0600)
 * &lt;dir&gt;/serverbindings/&lt;uuid&gt;.yaml                  ServerBinding, spec + status
 * &lt;dir&gt;/metalmachines/&lt;namespace&gt;/&lt;name&gt;.yaml     MetalMachine (optional, read only: its Machine owner)
 * </pre>
 *
 * Every write goes to a temporary file in the same directory, is flushed to disk and then
 * renamed over the target, so a crash leaves either the old or the new file, never half of one.
 * Files edited by hand are picked up by a periodic rescan (size, mtime and inode), without a
 * restart; a file that does not parse is reported, the last good version stays in use, and the
 * store does not write over it until it is fixed.
 */
package dev.siderolink.server.inventory.standalone;
