/**
 * Configuration: one validated {@code @ConfigurationProperties} record per component, with
 * defaults that work out of the box, and the component toggles ({@code siderolink.components}).
 * Property names are part of the operator-facing contract (docs, chart): keep them.
 */
package dev.siderolink.server.config;
