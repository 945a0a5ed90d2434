package dev.siderolink.server.config;

/** Where ServerBindings and the installation Secret live. */
public enum StoreKind {
    /** A directory of Kubernetes-shaped YAML files; no cluster needed. */
    STANDALONE,
    /** The Kubernetes API, through the fabric8 client. */
    KUBERNETES
}
