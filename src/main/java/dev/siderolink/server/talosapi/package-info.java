/**
 * The Talos API subset {@code talosctl events} needs ({@code machine.MachineService/Events}) over
 * mutual TLS, the installation's CA that secures it, and talosconfig files for operators.
 */
package dev.siderolink.server.talosapi;
