package io.mithril.controlplane;

import java.util.ArrayList;
import java.util.List;

/**
 * Renders {@link ControlPlaneStatus} as {@code mithril controlplane status} prints it: a header
 * about the configuration served, then one row per proxy like {@code istioctl proxy-status}
 * (NAME, SPIFFE ID, KIND, STATUS SYNCED/STALE/NACKED, the version sent and ACKed), then every
 * NACK error in full.
 */
public final class StatusTable {

    private StatusTable() {
    }

    public static String format(ControlPlaneStatus s) {
        StringBuilder sb = new StringBuilder();
        sb.append("Control plane: ").append(s.spiffeId().isEmpty() ? "(no SVID)" : s.spiffeId()).append('\n');
        sb.append("Config: version ").append(s.configVersion()).append(" (").append(s.resources()).append(" resources");
        if (!s.configDir().isEmpty()) {
            sb.append(" from ").append(s.configDir());
        }
        sb.append(")\n");
        if (!s.rejectedErrors().isEmpty()) {
            sb.append("Last change REJECTED at ").append(s.rejectedAt()).append(" (still serving ").append(s.configVersion())
                    .append("):\n");
            for (String e : s.rejectedErrors()) {
                sb.append("  ").append(e).append('\n');
            }
        }
        sb.append('\n');
        List<String[]> rows = new ArrayList<>();
        rows.add(new String[]{"NAME", "SPIFFE ID", "KIND", "NAMESPACE", "STATUS", "SENT", "ACKED"});
        for (ProxyStatus p : s.proxies()) {
            rows.add(new String[]{p.nodeName().isEmpty() ? "-" : p.nodeName(), p.spiffeId(), p.kind(), p.namespace(),
                    p.state(), dash(p.sentVersion()), dash(p.ackedVersion())});
        }
        int[] width = new int[rows.get(0).length];
        for (String[] r : rows) {
            for (int i = 0; i < r.length; i++) {
                width[i] = Math.max(width[i], r[i].length());
            }
        }
        for (String[] r : rows) {
            StringBuilder line = new StringBuilder();
            for (int i = 0; i < r.length; i++) {
                line.append(r[i]);
                if (i < r.length - 1) {
                    line.append(" ".repeat(width[i] - r[i].length() + 3));
                }
            }
            sb.append(line.toString().stripTrailing()).append('\n');
        }
        if (s.proxies().isEmpty()) {
            sb.append("(no proxy connected)\n");
        }
        for (ProxyStatus p : s.proxies()) {
            if (!p.nackError().isEmpty()) {
                sb.append('\n').append("NACK from ").append(p.spiffeId());
                if (!p.nodeName().isEmpty()) {
                    sb.append(" (").append(p.nodeName()).append(')');
                }
                sb.append(" for version ").append(p.nackVersion()).append(":\n  ")
                        .append(p.nackError().replace("\n", "\n  ")).append('\n');
            }
        }
        return sb.toString();
    }

    private static String dash(String s) {
        return s.isEmpty() ? "-" : s;
    }
}
