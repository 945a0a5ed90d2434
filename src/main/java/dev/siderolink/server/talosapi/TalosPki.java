package dev.siderolink.server.talosapi;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.PKCS8EncodedKeySpec;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collection;
import java.util.Date;
import java.util.List;
import java.util.Map;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * The installation's Talos API CA and the certificates it signs. Keys are ECDSA P-256 with
 * SHA-256 signatures: what Go's crypto/tls (talosctl) and the JDK's TLS both accept everywhere.
 * Private keys are written as PKCS#8 ({@code PRIVATE KEY}) PEM, which Go's
 * {@code tls.X509KeyPair} and Java's {@code KeyFactory} both read.
 */
public final class TalosPki {

    /** The Secret (kubernetes) or {@code secret-<name>.yaml} file (standalone) holding the CA. */
    public static final String SECRET_NAME = "siderolink-talos-ca";
    /** Secret data keys, as in a {@code kubernetes.io/tls} Secret. */
    public static final String CERT_KEY = "tls.crt";
    public static final String KEY_KEY = "tls.key";

    /** The CA outlives every certificate it signs; a new CA means new talosconfigs. */
    static final Duration CA_VALIDITY = Duration.ofDays(3650);
    /** Server certificates are signed at each start, so a year is plenty. */
    static final Duration SERVER_VALIDITY = Duration.ofDays(365);
    /** A talosconfig is valid for a year, like Talos' generated admin talosconfig. */
    static final Duration CLIENT_VALIDITY = Duration.ofDays(365);
    /** Tolerance for clocks of clients that run a little behind ours. */
    private static final Duration BACKDATE = Duration.ofMinutes(5);

    private TalosPki() {}

    /** A certificate and its private key. */
    public record Issued(X509Certificate certificate, PrivateKey key) {
        public String certificatePem() {
            return pem("CERTIFICATE", encoded(certificate));
        }

        public String keyPem() {
            return pem("PRIVATE KEY", key.getEncoded());
        }

        @Override
        public String toString() {
            return "Issued[" + certificate.getSubjectX500Principal() + ", key=<redacted>]";
        }
    }

    /** A fresh self-signed CA for this installation. */
    public static Issued newCa(String installationHint, SecureRandom random, Clock clock) {
        KeyPair pair = keyPair(random);
        X500Name subject = new X500NameBuilder(BCStyle.INSTANCE)
                .addRDN(BCStyle.O, "siderolink")
                .addRDN(BCStyle.CN, "SideroLink Talos API CA " + installationHint)
                .build();
        Instant now = clock.instant();
        try {
            JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
            X509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(subject, serial(random), Date.from(now.minus(BACKDATE)),
                    Date.from(now.plus(CA_VALIDITY)), subject, pair.getPublic())
                    .addExtension(Extension.basicConstraints, true, new BasicConstraints(true))
                    .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign | KeyUsage.digitalSignature))
                    .addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(pair.getPublic()));
            return new Issued(sign(builder, pair.getPrivate()), pair.getPrivate());
        } catch (IOException | GeneralSecurityException | OperatorCreationException e) {
            throw new IllegalStateException("cannot create the Talos API CA: " + e.getMessage(), e);
        }
    }

    /** A server certificate for these DNS names and IP addresses (each becomes a SAN). */
    public static Issued serverCertificate(Issued ca, Collection<String> names, SecureRandom random, Clock clock) {
        List<GeneralName> sans = new ArrayList<>();
        for (String name : names) {
            sans.add(isIpAddress(name) ? new GeneralName(GeneralName.iPAddress, name) : new GeneralName(GeneralName.dNSName, name));
        }
        String cn = names.isEmpty() ? "siderolink" : names.iterator().next();
        return issue(ca, new X500NameBuilder(BCStyle.INSTANCE).addRDN(BCStyle.CN, cn).build(), sans, KeyPurposeId.id_kp_serverAuth,
                SERVER_VALIDITY, random, clock);
    }

    /** A client certificate carrying a Talos role as its organization (how apid reads roles). */
    public static Issued clientCertificate(Issued ca, String role, SecureRandom random, Clock clock) {
        X500Name subject = new X500NameBuilder(BCStyle.INSTANCE).addRDN(BCStyle.O, role).addRDN(BCStyle.CN, "siderolink-talosctl").build();
        return issue(ca, subject, List.of(), KeyPurposeId.id_kp_clientAuth, CLIENT_VALIDITY, random, clock);
    }

    private static Issued issue(Issued ca, X500Name subject, List<GeneralName> sans, KeyPurposeId purpose, Duration validity,
            SecureRandom random, Clock clock) {
        KeyPair pair = keyPair(random);
        Instant now = clock.instant();
        try {
            JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
            X509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(ca.certificate(), serial(random), Date.from(now.minus(BACKDATE)),
                    Date.from(now.plus(validity)), subject, pair.getPublic())
                    .addExtension(Extension.basicConstraints, true, new BasicConstraints(false))
                    .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature))
                    .addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(purpose))
                    .addExtension(Extension.authorityKeyIdentifier, false, ext.createAuthorityKeyIdentifier(ca.certificate()));
            if (!sans.isEmpty()) {
                builder.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(sans.toArray(GeneralName[]::new)));
            }
            return new Issued(sign(builder, ca.key()), pair.getPrivate());
        } catch (IOException | GeneralSecurityException | OperatorCreationException e) {
            throw new IllegalStateException("cannot sign a certificate: " + e.getMessage(), e);
        }
    }

    /** The CA as Secret data (PEM texts). */
    public static Map<String, String> toSecretData(Issued ca) {
        return Map.of(CERT_KEY, ca.certificatePem(), KEY_KEY, ca.keyPem());
    }

    /** The CA from Secret data; fails with a message naming what is wrong. */
    public static Issued fromSecretData(Map<String, String> data) {
        String cert = data.get(CERT_KEY);
        String key = data.get(KEY_KEY);
        if (cert == null || key == null) {
            throw new IllegalArgumentException("the " + SECRET_NAME + " Secret needs data." + CERT_KEY + " and data." + KEY_KEY);
        }
        return new Issued(parseCertificate(cert), parsePrivateKey(key));
    }

    public static X509Certificate parseCertificate(String pem) {
        try {
            return (X509Certificate) CertificateFactory.getInstance("X.509")
                    .generateCertificate(new ByteArrayInputStream(pem.getBytes(StandardCharsets.US_ASCII)));
        } catch (GeneralSecurityException e) {
            throw new IllegalArgumentException("not a PEM certificate: " + e.getMessage(), e);
        }
    }

    /** A PKCS#8 PEM ({@code PRIVATE KEY}) EC key. */
    public static PrivateKey parsePrivateKey(String pem) {
        String body = pem.replaceAll("-----[A-Z ]+-----", "").replaceAll("\\s", "");
        try {
            return KeyFactory.getInstance("EC").generatePrivate(new PKCS8EncodedKeySpec(Base64.getDecoder().decode(body)));
        } catch (GeneralSecurityException | IllegalArgumentException e) {
            throw new IllegalArgumentException("not a PKCS#8 PEM EC private key", e);
        }
    }

    static String pem(String type, byte[] der) {
        String body = Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(der);
        return "-----BEGIN " + type + "-----\n" + body + "\n-----END " + type + "-----\n";
    }

    private static byte[] encoded(X509Certificate certificate) {
        try {
            return certificate.getEncoded();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    static boolean isIpAddress(String name) {
        return name.contains(":") || name.matches("\\d{1,3}(\\.\\d{1,3}){3}");
    }

    private static KeyPair keyPair(SecureRandom random) {
        try {
            KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
            generator.initialize(new ECGenParameterSpec("secp256r1"), random);
            return generator.generateKeyPair();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("ECDSA P-256 is not available in this JDK", e);
        }
    }

    private static BigInteger serial(SecureRandom random) {
        return new BigInteger(127, random).add(BigInteger.ONE); // positive, at most 16 bytes (RFC 5280)
    }

    private static X509Certificate sign(X509v3CertificateBuilder builder, PrivateKey key) throws OperatorCreationException, GeneralSecurityException {
        return new JcaX509CertificateConverter().getCertificate(builder.build(new JcaContentSignerBuilder("SHA256withECDSA").build(key)));
    }
}
