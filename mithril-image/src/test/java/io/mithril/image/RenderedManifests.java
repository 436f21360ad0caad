package io.mithril.image;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvFromSource;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.KubernetesResource;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.kubernetes.api.model.apps.DaemonSet;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.StatefulSet;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * What {@code kubectl kustomize} renders for one overlay, read with fabric8's typed model. {@link
 * #unknownFields} finds every field the model did not know (fabric8 keeps those in {@code
 * additionalProperties} instead of failing), so a typo in a manifest is an error here as it is for
 * the API server.
 */
final class RenderedManifests {

    static final KubernetesSerialization SERIALIZATION = new KubernetesSerialization();

    final String source;
    final List<HasMetadata> objects;

    private RenderedManifests(String source, List<HasMetadata> objects) {
        this.source = source;
        this.objects = List.copyOf(objects);
    }

    /** Runs the real {@code kubectl kustomize DIR}. */
    static RenderedManifests render(Path dir) throws IOException, InterruptedException {
        Process p;
        try {
            p =
                    new ProcessBuilder("kubectl", "kustomize", dir.toString())
                            .redirectErrorStream(false)
                            .start();
        } catch (IOException e) {
            // Never a silent skip: the manifest checks and the Kubernetes end-to-end test need it.
            throw new IllegalStateException(
                    "kubectl is not installed (or not on PATH): the manifest checks render "
                            + dir
                            + " with the real `kubectl kustomize`; install it (Debian: apt-get"
                            + " install kubernetes-client; .ci/run does)",
                    e);
        }
        byte[] out = p.getInputStream().readAllBytes();
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0) {
            throw new IllegalStateException("kubectl kustomize " + dir + " failed: " + err);
        }
        return parse(dir.toString(), new String(out, StandardCharsets.UTF_8));
    }

    static RenderedManifests parse(String source, String yaml) {
        Object parsed =
                SERIALIZATION.unmarshal(
                        new ByteArrayInputStream(yaml.getBytes(StandardCharsets.UTF_8)));
        List<HasMetadata> objects = new ArrayList<>();
        if (parsed instanceof List<?> list) {
            for (Object o : list) {
                objects.add((HasMetadata) o);
            }
        } else {
            objects.add((HasMetadata) parsed);
        }
        return new RenderedManifests(source, objects);
    }

    <T extends HasMetadata> List<T> all(Class<T> type) {
        return objects.stream().filter(type::isInstance).map(type::cast).toList();
    }

    Optional<ConfigMap> configMap(String namespace, String name) {
        return all(ConfigMap.class).stream()
                .filter(
                        c ->
                                name.equals(c.getMetadata().getName())
                                        && namespace.equals(c.getMetadata().getNamespace()))
                .findFirst();
    }

    /** Where a pod template lives (a workload), with the object that holds it. */
    record Pod(HasMetadata owner, PodSpec spec) {
        String name() {
            return owner.getKind()
                    + " "
                    + owner.getMetadata().getNamespace()
                    + "/"
                    + owner.getMetadata().getName();
        }

        List<Container> allContainers() {
            List<Container> all = new ArrayList<>(spec.getInitContainers());
            all.addAll(spec.getContainers());
            return all;
        }
    }

    List<Pod> pods() {
        List<Pod> pods = new ArrayList<>();
        all(Deployment.class)
                .forEach(d -> pods.add(new Pod(d, d.getSpec().getTemplate().getSpec())));
        all(StatefulSet.class)
                .forEach(s -> pods.add(new Pod(s, s.getSpec().getTemplate().getSpec())));
        all(DaemonSet.class)
                .forEach(d -> pods.add(new Pod(d, d.getSpec().getTemplate().getSpec())));
        return pods;
    }

    /** A container that mounts the ConfigMap, in the same namespace. */
    record Consumer(Pod pod, Container container) {}

    List<Consumer> consumersOf(ConfigMap cm) {
        List<Consumer> found = new ArrayList<>();
        for (Pod pod : pods()) {
            if (!cm.getMetadata().getNamespace().equals(pod.owner().getMetadata().getNamespace())) {
                continue;
            }
            Set<String> volumes = new java.util.HashSet<>();
            for (Volume v : pod.spec().getVolumes()) {
                if (v.getConfigMap() != null
                        && cm.getMetadata().getName().equals(v.getConfigMap().getName())) {
                    volumes.add(v.getName());
                }
            }
            for (Container c : pod.allContainers()) {
                for (VolumeMount m : c.getVolumeMounts()) {
                    if (volumes.contains(m.getName())) {
                        found.add(new Consumer(pod, c));
                        break;
                    }
                }
            }
        }
        return found;
    }

    /**
     * The environment a container gets from the manifests: {@code env} values and {@code envFrom}
     * ConfigMaps (resolved against the rendered ConfigMaps). A reference to a ConfigMap that is not
     * rendered is an error.
     */
    Map<String, String> environmentOf(Pod pod, Container c) {
        Map<String, String> env = new LinkedHashMap<>();
        String ns = pod.owner().getMetadata().getNamespace();
        for (EnvFromSource from : c.getEnvFrom()) {
            if (from.getConfigMapRef() != null) {
                String name = from.getConfigMapRef().getName();
                ConfigMap cm =
                        configMap(ns, name)
                                .orElseThrow(
                                        () ->
                                                new IllegalStateException(
                                                        source
                                                                + ": "
                                                                + pod.name()
                                                                + " container "
                                                                + c.getName()
                                                                + " reads ConfigMap "
                                                                + ns
                                                                + "/"
                                                                + name
                                                                + ", which is not rendered"));
                env.putAll(cm.getData());
            }
        }
        for (EnvVar e : c.getEnv()) {
            if (e.getValue() != null) {
                env.put(e.getName(), e.getValue());
            } else if (e.getValueFrom() != null && e.getValueFrom().getConfigMapKeyRef() != null) {
                String name = e.getValueFrom().getConfigMapKeyRef().getName();
                String key = e.getValueFrom().getConfigMapKeyRef().getKey();
                String value =
                        configMap(ns, name)
                                .map(cm -> cm.getData().get(key))
                                .orElseThrow(
                                        () ->
                                                new IllegalStateException(
                                                        source
                                                                + ": "
                                                                + pod.name()
                                                                + " container "
                                                                + c.getName()
                                                                + " reads "
                                                                + key
                                                                + " of ConfigMap "
                                                                + ns
                                                                + "/"
                                                                + name
                                                                + ", which is not rendered"));
                env.put(e.getName(), value);
            } else if (e.getValueFrom() != null && e.getValueFrom().getFieldRef() != null) {
                env.put(e.getName(), "<" + e.getValueFrom().getFieldRef().getFieldPath() + ">");
            }
        }
        return env;
    }

    /**
     * Every field that the typed model did not know, as {@code kind ns/name: path.to.field}.
     * Objects that fabric8 has no type for (custom resources) are not walked here.
     */
    static List<String> unknownFields(HasMetadata object) {
        List<String> found = new ArrayList<>();
        String where =
                object.getKind()
                        + " "
                        + Optional.ofNullable(object.getMetadata().getNamespace()).orElse("")
                        + "/"
                        + object.getMetadata().getName();
        walk(object, where, found, new IdentityHashMap<>());
        return found;
    }

    private static void walk(
            Object o, String path, List<String> found, IdentityHashMap<Object, Boolean> seen) {
        if (o == null || seen.put(o, Boolean.TRUE) != null) {
            return;
        }
        if (o instanceof Collection<?> list) {
            int i = 0;
            for (Object e : list) {
                walk(e, path + "[" + i++ + "]", found, seen);
            }
            return;
        }
        if (o instanceof Map<?, ?> map) {
            map.forEach((k, v) -> walk(v, path + "." + k, found, seen));
            return;
        }
        if (!o.getClass().getName().startsWith("io.fabric8.")
                || o instanceof GenericKubernetesResource) {
            return;
        }
        for (Method m : o.getClass().getMethods()) {
            if (m.getParameterCount() != 0
                    || Modifier.isStatic(m.getModifiers())
                    || m.getDeclaringClass() == Object.class) {
                continue;
            }
            String name = m.getName();
            if (!name.startsWith("get") || name.equals("getClass")) {
                continue;
            }
            Object value;
            try {
                value = m.invoke(o);
            } catch (ReflectiveOperationException | RuntimeException e) {
                continue;
            }
            if (name.equals("getAdditionalProperties")) {
                if (value instanceof Map<?, ?> extra && !extra.isEmpty()) {
                    extra.keySet().forEach(k -> found.add(path + "." + k));
                }
                continue;
            }
            if (value instanceof KubernetesResource
                    || value instanceof Collection<?>
                    || value instanceof Map<?, ?>
                    || (value != null && value.getClass().getName().startsWith("io.fabric8."))) {
                String field = Character.toLowerCase(name.charAt(3)) + name.substring(4);
                walk(value, path + "." + field, found, seen);
            }
        }
    }
}
