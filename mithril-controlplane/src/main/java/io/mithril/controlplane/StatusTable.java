package io.mithril.controlplane;

import java.util.ArrayList;
import java.util.List;

/**
 * Renders {@link ControlPlaneStatus} as {@code mithril controlplane status} prints it: a header
 * about the configuration served, then one row per ADS connection like {@code istioctl
 * proxy-status} (NAME, SPIFFE ID, KIND, NAMESPACE, STATUS SYNCED/STALE/NACKED, then per xDS type
 * SYNCED/STALE/NACKED/NOT SENT), then every NACK error in full.
 */
public final class StatusTable {

    private StatusTable() {}

    public static String format(ControlPlaneStatus s) {
        StringBuilder sb = new StringBuilder();
        sb.append("Control plane: ")
                .append(s.spiffeId().isEmpty() ? "(no SVID)" : s.spiffeId())
                .append('\n');
        sb.append("Config: version ")
                .append(s.configVersion())
                .append(" (")
                .append(s.resources())
                .append(" resources");
        if (!s.configDir().isEmpty()) {
            sb.append(" from ").append(s.configDir());
        }
        sb.append(")\n");
        if (!s.rejectedErrors().isEmpty()) {
            sb.append("Last change REJECTED at ")
                    .append(s.rejectedAt())
                    .append(" (still serving ")
                    .append(s.configVersion())
                    .append("):\n");
            for (String e : s.rejectedErrors()) {
                sb.append("  ").append(e).append('\n');
            }
        }
        sb.append('\n');
        List<String[]> rows = new ArrayList<>();
        List<String> header =
                new ArrayList<>(List.of("NAME", "SPIFFE ID", "KIND", "NAMESPACE", "STATUS"));
        header.addAll(ProxyStatus.TYPES);
        rows.add(header.toArray(String[]::new));
        for (ProxyStatus p : s.proxies()) {
            List<String> row =
                    new ArrayList<>(
                            List.of(p.name(), p.spiffeId(), p.kind(), p.namespace(), p.state()));
            for (String t : ProxyStatus.TYPES) {
                row.add(p.state(t));
            }
            rows.add(row.toArray(String[]::new));
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
            p.nacks()
                    .forEach(
                            (type, error) ->
                                    sb.append('\n')
                                            .append(type)
                                            .append(" NACK from ")
                                            .append(p.spiffeId())
                                            .append(" (")
                                            .append(p.nodeId())
                                            .append(") for ")
                                            .append(error.replace("\n", "\n  "))
                                            .append('\n'));
        }
        return sb.toString();
    }
}
