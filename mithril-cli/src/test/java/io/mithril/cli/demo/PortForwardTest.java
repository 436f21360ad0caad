package io.mithril.cli.demo;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The demo's port-forward: bytes both ways unchanged, closes passed on, a taken port refused. */
class PortForwardTest {

    private static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();

    @Test
    void relaysBothWaysAndPassesTheTargetsCloseToTheClient() throws Exception {
        try (ServerSocket target = new ServerSocket(0, 5, LOOPBACK);
                PortForward f =
                        PortForward.open(
                                "127.0.0.1",
                                0,
                                new InetSocketAddress(LOOPBACK, target.getLocalPort()))) {
            // The target reads one line, answers it reversed and closes (as a server that times
            // out a client does).
            CompletableFuture<String> seen =
                    CompletableFuture.supplyAsync(
                            () -> {
                                try (Socket s = target.accept()) {
                                    String line = readLine(s.getInputStream());
                                    s.getOutputStream()
                                            .write(
                                                    (new StringBuilder(line).reverse() + "\n")
                                                            .getBytes(StandardCharsets.US_ASCII));
                                    return line;
                                } catch (Exception e) {
                                    throw new IllegalStateException(e);
                                }
                            });
            try (Socket client = new Socket()) {
                client.connect(new InetSocketAddress(LOOPBACK, f.port()), 5000);
                client.setSoTimeout(10_000);
                OutputStream out = client.getOutputStream();
                out.write("hello\n".getBytes(StandardCharsets.US_ASCII));
                out.flush();
                InputStream in = client.getInputStream();
                assertThat(readLine(in)).isEqualTo("olleh");
                // The target closed: the client sees the end of the stream, not a hang.
                assertThat(in.read()).isEqualTo(-1);
            }
            assertThat(seen.get(10, TimeUnit.SECONDS)).isEqualTo("hello");
        }
    }

    @Test
    void aTakenPortIsRefusedAndNoTargetClosesTheClient() throws Exception {
        int dead;
        try (ServerSocket probe = new ServerSocket(0, 1, LOOPBACK)) {
            dead = probe.getLocalPort();
        }
        try (PortForward f =
                PortForward.open("127.0.0.1", 0, new InetSocketAddress(LOOPBACK, dead))) {
            assertThatThrownBy(
                            () ->
                                    PortForward.open(
                                            "127.0.0.1",
                                            f.port(),
                                            new InetSocketAddress(LOOPBACK, dead)))
                    .isInstanceOf(java.net.BindException.class)
                    .satisfies(
                            e -> assertThat(PortForward.inUse((java.io.IOException) e)).isTrue());
            try (Socket client = new Socket()) {
                client.connect(new InetSocketAddress(LOOPBACK, f.port()), 5000);
                client.setSoTimeout(10_000);
                // Nothing listens at the target: the forwarder closes the client's connection.
                assertThat(client.getInputStream().read()).isEqualTo(-1);
            } catch (java.net.SocketException reset) {
                // a reset is as good as a close here
            }
        }
    }

    @Test
    void listeningInTellsTheAddressApart() throws Exception {
        long self = ProcessHandle.current().pid();
        try (ServerSocket s = new ServerSocket()) {
            s.bind(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 0));
            int port = s.getLocalPort();
            assertThat(Pods.listeningIn(self, "127.0.0.1", port)).isTrue();
            assertThat(Pods.listeningIn(self, port)).isTrue();
            assertThat(Pods.listeningIn(self, "127.0.0.2", port)).isFalse();
        }
    }

    private static String readLine(InputStream in) throws java.io.IOException {
        StringBuilder sb = new StringBuilder();
        int c;
        while ((c = in.read()) >= 0 && c != '\n') {
            sb.append((char) c);
        }
        return sb.toString();
    }
}
