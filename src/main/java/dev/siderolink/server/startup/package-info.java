/**
 * Start-up diagnostics: configuration mistakes (missing endpoint, unusable state directory, port
 * in use, a broken Secret) end start-up with one sentence saying what is wrong and one saying
 * what to do, through Spring Boot's failure analysis, instead of a stack trace.
 */
package dev.siderolink.server.startup;
