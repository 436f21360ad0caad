package io.mithril.mesh.model;

/**
 * An Istio configuration resource as users write it ({@code kind}, {@code metadata}, {@code spec}).
 * Records are immutable; the parser ({@link io.mithril.mesh.yaml.MeshYaml}) builds them only from
 * input that passed validation.
 */
public sealed interface Resource
        permits Gateway,
                VirtualService,
                DestinationRule,
                ServiceEntry,
                WorkloadEntry,
                PeerAuthentication,
                AuthorizationPolicy {

    /** Name, namespace and labels. */
    Metadata metadata();

    /** Where the resource came from (file and line), for logs and errors. */
    Origin origin();

    /** The Kubernetes kind, e.g. {@code VirtualService}. */
    default String kind() {
        return getClass().getSimpleName();
    }

    /** {@code Kind namespace/name}. */
    default String ref() {
        return kind() + " " + metadata().namespace() + "/" + metadata().name();
    }
}
