package io.mithril.controlplane;

import io.mithril.mesh.compile.MeshCompiler;
import io.mithril.mesh.config.Listener;
import io.mithril.mesh.config.ProxyConfig;
import io.mithril.mesh.config.ProxyNode;
import io.mithril.mesh.model.Resource;
import io.mithril.mesh.yaml.MeshYaml;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;

/**
 * What a gateway does with a snapshot, minus the HTTP: parse the resources with the mesh parser,
 * compile them for its node with the mesh compiler, and bind a real socket for every listener
 * (a port already taken makes the apply fail, so the client NACKs and the last good config stays).
 */
final class TestProxy implements ControlPlaneClient.SnapshotHandler, AutoCloseable {

    final ProxyNode node;
    final BlockingQueue<ControlPlaneClient.ConfigSnapshot> applied = new LinkedBlockingQueue<>();
    final BlockingQueue<ControlPlaneClient.ConfigSnapshot> received = new LinkedBlockingQueue<>();
    volatile ProxyConfig config;
    private final Map<Integer, ServerSocket> bound = new HashMap<>();

    private final boolean bind;

    TestProxy(ProxyNode node) {
        this(node, true);
    }

    TestProxy(ProxyNode node, boolean bind) {
        this.node = node;
        this.bind = bind;
    }

    @Override
    public synchronized void apply(ControlPlaneClient.ConfigSnapshot snapshot) throws IOException {
        received.add(snapshot);
        List<Resource> resources = MeshYaml.parse("controlplane:" + snapshot.version(), snapshot.yaml()).orThrow();
        ProxyConfig compiled = MeshCompiler.compile(resources, node);
        List<ServerSocket> opened = new ArrayList<>();
        Map<Integer, ServerSocket> next = new HashMap<>();
        for (Listener l : compiled.listeners()) {
            ServerSocket s = bound.get(l.port());
            if (s == null && bind) {
                try {
                    s = new ServerSocket();
                    s.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), l.port()));
                    opened.add(s);
                } catch (IOException e) {
                    for (ServerSocket o : opened) {
                        o.close();
                    }
                    throw new IOException("listener " + l.name() + ": cannot bind port " + l.port() + ": " + e.getMessage(), e);
                }
            }
            if (s != null) {
                next.put(l.port(), s);
            }
        }
        for (Map.Entry<Integer, ServerSocket> e : bound.entrySet()) {
            if (!next.containsKey(e.getKey())) {
                e.getValue().close();
            }
        }
        bound.clear();
        bound.putAll(next);
        config = compiled;
        applied.add(snapshot);
    }

    @Override
    public synchronized void close() throws IOException {
        for (ServerSocket s : bound.values()) {
            s.close();
        }
        bound.clear();
    }
}
