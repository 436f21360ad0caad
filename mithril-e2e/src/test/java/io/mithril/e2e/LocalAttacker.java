package io.mithril.e2e;

import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * What an unprivileged local user tries against a running demo, run by {@link LocalUserAttackIT} as
 * another uid ({@code setpriv}): each argument is one attempt, {@code OP:ARG[:ARG]}, and each
 * prints one line {@code OP:ARG... => ok} or {@code ... => denied: reason}.
 *
 * <p>Ops: {@code rename:SRC:DST}, {@code bind-unix:PATH} (plant a socket), {@code write:PATH}
 * (overwrite), {@code create:PATH}, {@code delete:PATH}, {@code read:PATH}, {@code list:DIR},
 * {@code connect:HOST:PORT}.
 */
public final class LocalAttacker {

    private LocalAttacker() {}

    public static void main(String[] args) {
        for (String attempt : args) {
            String[] a = attempt.split(":", 3);
            String result;
            try {
                run(a);
                result = "ok";
            } catch (Exception e) {
                result = "denied: " + e;
            }
            System.out.println(attempt + " => " + result);
        }
    }

    private static void run(String[] a) throws Exception {
        switch (a[0]) {
            case "rename" -> Files.move(Path.of(a[1]), Path.of(a[2]));
            case "bind-unix" -> {
                try (ServerSocketChannel ch =
                        ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
                    ch.bind(UnixDomainSocketAddress.of(a[1]));
                }
            }
            case "write" -> {
                try (OutputStream out =
                        Files.newOutputStream(Path.of(a[1]), StandardOpenOption.WRITE)) {
                    out.write("attacker's bytes\n".getBytes());
                }
            }
            case "create" -> Files.createFile(Path.of(a[1]));
            case "delete" -> Files.delete(Path.of(a[1]));
            case "read" -> Files.readAllBytes(Path.of(a[1]));
            case "list" -> {
                try (var s = Files.list(Path.of(a[1]))) {
                    s.count();
                }
            }
            case "connect" -> {
                try (Socket s = new Socket()) {
                    s.connect(new InetSocketAddress(a[1], Integer.parseInt(a[2])), 2000);
                }
            }
            default -> throw new IllegalArgumentException("unknown op " + a[0]);
        }
    }
}
