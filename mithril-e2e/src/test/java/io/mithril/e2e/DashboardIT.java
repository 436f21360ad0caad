package io.mithril.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.StaleElementReferenceException;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * Issue 20: {@code mithril demo --keep-running} serves the dashboard, and a real browser (Debian's
 * headless chromium, driven through Debian's chromedriver) sees both clusters' intermediates under
 * the one upstream root, the graph sleep -> gateway -> productpage -> reviews -> ratings with the
 * callers' SPIFFE IDs, the handshakes the demo's negative checks had refused, new traffic arriving
 * without a reload, and an SVID rotation in the events (workload SVIDs live 1 minute here).
 */
class DashboardIT {

    private static final String TD = "spiffe://example.org";
    private static final String SLEEP = TD + "/ns/default/sa/sleep";
    private static final String GATEWAY =
            TD + "/ns/istio-system/sa/istio-ingressgateway-service-account";
    private static final String PRODUCTPAGE = TD + "/ns/default/sa/bookinfo-productpage";
    private static final String REVIEWS = TD + "/ns/default/sa/bookinfo-reviews";
    private static final String RATINGS = TD + "/ns/default/sa/bookinfo-ratings";

    @TempDir Path tmp;

    @Test
    void aBrowserSeesIdentitiesTheGraphAndEventsLive() throws Exception {
        Path chromium = Path.of("/usr/bin/chromium");
        Path driverBinary = Path.of("/usr/bin/chromedriver");
        assertThat(chromium)
                .as("Debian's chromium (apt-get install chromium chromium-driver; .ci/run does)")
                .exists();
        assertThat(driverBinary)
                .as("Debian's chromedriver (apt-get install chromium-driver)")
                .exists();
        Path home = tmp.resolve("home");
        Path examples = home.resolve("examples/two-clusters");
        RotationUnderLoadSoakIT.copyTree(
                Demo.projectRoot().resolve("examples/two-clusters"), examples);
        for (String c : List.of("cluster1", "cluster2")) {
            Path conf = examples.resolve(c + "/server.conf");
            String text =
                    Files.readString(conf)
                            .replace(
                                    "default_x509_svid_ttl = \"1h\"",
                                    "default_x509_svid_ttl = \"1m\"");
            assertThat(text).contains("default_x509_svid_ttl = \"1m\"");
            Files.writeString(conf, text);
        }
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwxr-xr-x"));
        try (Demo demo = Demo.start(tmp.resolve("demo"), home)) {
            // The demo prints the dashboard's address right after "Both clusters are up".
            long until = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (!Files.readString(demo.output).contains("dashboard:")
                    && System.nanoTime() < until) {
                Thread.sleep(200);
            }
            // 15100 unless something else holds it (then a port the kernel picked).
            java.util.regex.Matcher printed =
                    java.util.regex.Pattern.compile("dashboard: (http://127\\.0\\.0\\.1:\\d+/)")
                            .matcher(Files.readString(demo.output));
            assertThat(printed.find()).as(Files.readString(demo.output)).isTrue();
            String url = printed.group(1);
            for (int i = 0; i < 3; i++) {
                assertThat(Demo.exec(demo.curlWithSleepSvid("/productpage")).out())
                        .isEqualTo("HTTP_CODE=200");
            }
            ChromeOptions options = new ChromeOptions();
            options.setBinary(chromium.toFile());
            options.addArguments(
                    "--headless=new",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-dev-shm-usage",
                    "--window-size=1400,1700",
                    "--hide-scrollbars");
            ChromeDriverService service =
                    new ChromeDriverService.Builder()
                            .usingDriverExecutable(driverBinary.toFile())
                            .usingAnyFreePort()
                            .build();
            WebDriver browser = new ChromeDriver(service, options);
            try {
                browser.get(url);
                WebDriverWait wait = new WebDriverWait(browser, Duration.ofSeconds(30));
                // The page re-renders its tables on every update: an element read mid-update is
                // stale, read again.
                wait.ignoring(StaleElementReferenceException.class);
                wait.until(b -> text(b, "conn").equals("live"));

                // One trust domain, one root, both clusters' intermediates under it.
                wait.until(b -> b.findElements(By.cssSelector("#domains .cluster")).size() == 2);
                assertThat(browser.findElements(By.cssSelector("#domains .root"))).hasSize(1);
                String domains = text(browser, "domains");
                assertThat(domains)
                        .contains("trust domain example.org")
                        .contains("CN=Upstream CA,O=SPIFFE,C=US")
                        .contains("cluster1")
                        .contains("cluster2")
                        .contains("active")
                        .contains("next rotation");

                // The graph: edges labelled with the callers' SPIFFE IDs, in the table and in
                // cytoscape's model.
                List<List<String>> chain =
                        List.of(
                                List.of(SLEEP, GATEWAY),
                                List.of(GATEWAY, PRODUCTPAGE),
                                List.of(PRODUCTPAGE, REVIEWS),
                                List.of(REVIEWS, RATINGS));
                wait.until(
                        b -> {
                            String edges = text(b, "edges");
                            return chain.stream()
                                    .allMatch(
                                            e -> edges.contains(e.get(0) + " " + e.get(1) + " on"));
                        });
                @SuppressWarnings("unchecked")
                List<Object> graph =
                        (List<Object>)
                                ((JavascriptExecutor) browser)
                                        .executeScript(
                                                "return window.mithrilGraph.edges().map(e => e.data('principal') + ' > ' + e.data('target'));");
                for (List<String> e : chain) {
                    assertThat(graph).contains(e.get(0) + " > " + e.get(1));
                }
                assertThat(text(browser, "agents"))
                        .contains(TD + "/spire/agent/join_token/")
                        .contains("join_token");
                assertThat(text(browser, "entries")).contains(SLEEP).contains(RATINGS);

                // Events: the demo's negative checks (no client certificate, a foreign CA) were
                // refused handshakes.
                wait.until(b -> text(b, "events").contains("handshake-refused"));
                assertThat(text(browser, "events")).contains("handshake refused by ingressgateway");

                // Live: new traffic shows in the page without a reload.
                ((JavascriptExecutor) browser).executeScript("window.notReloaded = true;");
                long before = gatewayToProductpage(browser);
                // sleep's SVID file was fetched once at the demo's start and lives 1 minute here:
                // fetch it again,
                // as sleep itself would, so that a slow machine does not make its certificate
                // expire.
                Path fresh = demo.sleepDir().resolve("refresh");
                Demo.Exec fetch =
                        Demo.exec(
                                demo.mithril(
                                        Demo.SLEEP_UID,
                                        "agent",
                                        "api",
                                        "fetch",
                                        "x509",
                                        "-socketPath",
                                        demo.agentSocket(1).toString(),
                                        "-write",
                                        fresh.toString()));
                assertThat(fetch.exit()).as(fetch.out()).isZero();
                for (int i = 0; i < 5; i++) {
                    assertThat(
                                    Demo.exec(
                                                    demo.curl(
                                                            "/productpage",
                                                            fresh.resolve("svid.0.pem"),
                                                            fresh.resolve("svid.0.key")))
                                            .out())
                            .isEqualTo("HTTP_CODE=200");
                }
                wait.until(b -> gatewayToProductpage(b) >= before + 5);
                assertThat(
                                ((JavascriptExecutor) browser)
                                        .executeScript("return window.notReloaded === true;"))
                        .isEqualTo(true);

                // An SVID rotation (1-minute SVIDs) appears in the events, pushed to the open page.
                new WebDriverWait(browser, Duration.ofSeconds(120))
                        .ignoring(StaleElementReferenceException.class)
                        .until(b -> text(b, "events").contains("SVID rotated"));
                assertThat(
                                ((JavascriptExecutor) browser)
                                        .executeScript("return window.notReloaded === true;"))
                        .isEqualTo(true);

                // Every agent has synced with its server since it started (the last-sync column).
                wait.until(
                        b ->
                                text(b, "agents").contains(" ago)")
                                        && !text(b, "agents")
                                                .contains("not since the server started"));

                screenshot(
                        ((TakesScreenshot) browser).getScreenshotAs(OutputType.FILE).toPath(),
                        "dashboard.png");
                for (String[] view :
                        new String[][] {
                            {"trust", "dashboard-trust.png"},
                            {"mesh", "dashboard-mesh.png"},
                            {"events-section", "dashboard-events.png"},
                            {"agents-section", "dashboard-agents.png"}
                        }) {
                    screenshot(
                            browser.findElement(By.id(view[0]))
                                    .getScreenshotAs(OutputType.FILE)
                                    .toPath(),
                            view[1]);
                }
                // The entries, filtered as one types: only the reviews entries of both clusters
                // stay.
                browser.findElement(By.id("search")).sendKeys("bookinfo-reviews");
                wait.until(
                        b ->
                                !text(b, "entries").contains(RATINGS)
                                        && text(b, "entries").contains(REVIEWS));
                screenshot(
                        browser.findElement(By.id("entries-section"))
                                .getScreenshotAs(OutputType.FILE)
                                .toPath(),
                        "dashboard-entries.png");
            } finally {
                browser.quit();
            }

            // doctor --dir on the same live demo: every check passes (SVIDs of 1 minute are renewed
            // at half their life, so "close to expiry" means under 10 s here).
            Demo.Exec doctor =
                    Demo.exec(
                            demo.mithril(
                                    null,
                                    "doctor",
                                    "--dir",
                                    demo.dir.toString(),
                                    "-expiryWithin",
                                    "10s"));
            Files.writeString(Path.of("target/doctor-demo.txt"), doctor.out());
            assertThat(doctor.out())
                    .contains("ok    reach identity server cluster1")
                    .contains("ok    reach identity server cluster2")
                    .contains("ok    reach control plane")
                    .contains("bundle of trust domain example.org")
                    .contains("ok    proxies in sync with the control plane: 7 SYNCED")
                    .contains(
                            "ok    running workloads: 7 entries with unix selectors each match a process on this host")
                    .containsPattern(
                            "ok    sync of agent \\S+ \\(cluster1\\): last synced \\d+s ago")
                    .containsPattern(
                            "ok    sync of agent \\S+ \\(cluster2\\): last synced \\d+s ago")
                    .containsPattern(
                            "ok    SVID of proxy reviews-v3 \\("
                                    + REVIEWS.replace(".", "\\.")
                                    + "\\): valid until")
                    .containsPattern("all \\d+ checks ok");
            assertThat(doctor.exit()).as(doctor.out()).isZero();
        }
    }

    /**
     * Keeps a screenshot in target/screenshots/ and, with -Dmithril.docs.screenshots=true, in the
     * project's docs/ too (how docs/dashboard*.png are made).
     */
    private static void screenshot(Path taken, String name) throws Exception {
        Path shot = Path.of("target/screenshots").resolve(name);
        Files.createDirectories(shot.getParent());
        Files.copy(taken, shot, StandardCopyOption.REPLACE_EXISTING);
        if (Boolean.getBoolean("mithril.docs.screenshots")) {
            Files.copy(
                    taken,
                    Demo.projectRoot().resolve("docs").resolve(name),
                    StandardCopyOption.REPLACE_EXISTING);
        }
    }

    /** The rendered text of an element, read in one script (never a stale element). */
    private static String text(WebDriver b, String id) {
        return String.valueOf(
                        ((JavascriptExecutor) b)
                                .executeScript(
                                        "return document.getElementById(arguments[0]).innerText;",
                                        id))
                .replaceAll("[\\t ]+", " ");
    }

    /**
     * The total of the gateway -> productpage row of the edges table, read in one script (the page
     * re-renders it live).
     */
    private static long gatewayToProductpage(WebDriver b) {
        Object total =
                ((JavascriptExecutor) b)
                        .executeScript(
                                """
                for (const tr of document.querySelectorAll('#edges tbody tr')) {
                  const c = [...tr.querySelectorAll('td')].map(td => td.textContent);
                  if (c[0] === arguments[0] && c[1] === arguments[1]) return Number(c[6]);
                }
                return -1;""",
                                GATEWAY,
                                PRODUCTPAGE);
        return ((Number) total).longValue();
    }
}
