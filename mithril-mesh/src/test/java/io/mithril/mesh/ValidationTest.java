package io.mithril.mesh;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mithril.mesh.yaml.MeshConfigException;
import io.mithril.mesh.yaml.MeshYaml;
import io.mithril.mesh.yaml.ValidationError;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Invalid inputs and the precise errors they get (file, line, document, resource, field, what is
 * wrong).
 */
class ValidationTest {

    static List<ValidationError> errors(String yaml) {
        MeshYaml.Result r = MeshYaml.parse("bad.yaml", yaml);
        assertThat(r.resources()).as("nothing is applied when there is an error").isEmpty();
        return r.errors();
    }

    static List<String> messages(String yaml) {
        return errors(yaml).stream().map(ValidationError::toString).toList();
    }

    @Test
    void aConditionKeyTheProxiesDoNotEvaluateIsRefusedRatherThanNeverMatching() {
        // Valid Istio; accepted, this DENY would never match and so never deny.
        for (String key :
                List.of(
                        "source.serviceAccount",
                        "source.trustDomain",
                        "connection.sni",
                        "request.auth.claims[iss]")) {
            List<String> errs =
                    messages(
                            """
                    apiVersion: security.istio.io/v1
                    kind: AuthorizationPolicy
                    metadata: {name: deny-evil, namespace: prod}
                    spec:
                      action: DENY
                      rules:
                      - when:
                        - key: %s
                          values: ["prod/evil"]
                    """
                                    .formatted(key));
            assertThat(errs)
                    .as(key)
                    .anyMatch(
                            e ->
                                    e.contains(
                                            "condition key "
                                                    + key
                                                    + " is not implemented by Mithril"));
        }
        assertThat(
                        MeshYaml.parse(
                                        "ok.yaml",
                                        """
                apiVersion: security.istio.io/v1
                kind: AuthorizationPolicy
                metadata: {name: deny-evil, namespace: prod}
                spec:
                  action: DENY
                  rules:
                  - when:
                    - key: request.headers[x-user]
                      values: ["evil"]
                """)
                                .errors())
                .isEmpty();
    }

    @Test
    void missingDestinationHostIsReportedWithItsFieldPathAndLine() {
        List<ValidationError> errs =
                errors(
                        """
                apiVersion: networking.istio.io/v1alpha3
                kind: VirtualService
                metadata: {name: vs}
                spec:
                  hosts: [a.example.com]
                  http:
                  - route:
                    - destination:
                        port: {number: 9080}
                """);
        assertThat(errs).hasSize(1);
        ValidationError e = errs.get(0);
        assertThat(e.field()).isEqualTo("spec.http[0].route[0].destination.host");
        assertThat(e.message()).isEqualTo("is required");
        assertThat(e.resource()).isEqualTo("VirtualService default/vs");
        assertThat(e.line()).isEqualTo(9);
        assertThat(e.toString())
                .isEqualTo(
                        "bad.yaml:9: document 0: VirtualService default/vs: spec.http[0].route[0].destination.host: is required");
    }

    @Test
    void everyErrorOfEveryDocumentIsReportedNotJustTheFirst() {
        List<String> msgs =
                messages(
                        """
                apiVersion: networking.istio.io/v1beta1
                kind: Gateway
                metadata: {name: gw}
                spec:
                  servers:
                  - port: {number: 70000, protocol: HTTP}
                    hosts: ["*"]
                ---
                apiVersion: networking.istio.io/v1beta1
                kind: DestinationRule
                metadata: {name: dr}
                spec:
                  host: x.example.com
                  trafficPolicy:
                    tls: {mode: ISTIO_MUTUALL}
                """);
        assertThat(msgs)
                .containsExactly(
                        "bad.yaml:6:12: document 0: Gateway default/gw: spec.servers[0].port.number: must be between 1 and 65535, found 70000",
                        "bad.yaml:15:11: document 1: DestinationRule default/dr: spec.trafficPolicy.tls.mode: unknown value \"ISTIO_MUTUALL\" (want one of DISABLE, SIMPLE, MUTUAL, ISTIO_MUTUAL)");
    }

    @Test
    void unknownFieldsAreRejectedAsIstioDoes() {
        assertThat(
                        messages(
                                """
                apiVersion: networking.istio.io/v1
                kind: DestinationRule
                metadata: {name: dr}
                spec:
                  host: x
                  trafficPolicy: {tsl: {mode: DISABLE}}
                """))
                .containsExactly(
                        "bad.yaml:6:19: document 0: DestinationRule default/dr: spec.trafficPolicy.tsl: unknown field \"tsl\"");
    }

    @Test
    void stringMatchWithTwoKindsAndABadRegexAreErrors() {
        List<String> msgs =
                messages(
                        """
                apiVersion: networking.istio.io/v1
                kind: VirtualService
                metadata: {name: vs}
                spec:
                  hosts: [a]
                  http:
                  - match:
                    - uri: {exact: /a, prefix: /b}
                    - uri: {regex: "(unclosed"}
                    route: [{destination: {host: a}}]
                """);
        assertThat(msgs).hasSize(2);
        assertThat(msgs.get(0))
                .contains("spec.http[0].match[0].uri: set only one of exact, prefix or regex");
        assertThat(msgs.get(1))
                .contains(
                        "spec.http[0].match[1].uri.regex: invalid regular expression \"(unclosed\"");
    }

    @Test
    void httpsServerWithoutTlsAndIstioMutualWithFilesAreErrors() {
        List<String> msgs =
                messages(
                        """
                apiVersion: networking.istio.io/v1
                kind: Gateway
                metadata: {name: gw}
                spec:
                  servers:
                  - port: {number: 443, name: https, protocol: HTTPS}
                    hosts: ["*"]
                  - port: {number: 8443, name: https2, protocol: HTTPS}
                    hosts: ["*"]
                    tls: {mode: ISTIO_MUTUAL, serverCertificate: /etc/cert.pem}
                """);
        assertThat(msgs).hasSize(2);
        assertThat(msgs.get(0))
                .contains("spec.servers[0].tls: server must have TLS settings for HTTPS");
        assertThat(msgs.get(1))
                .contains("spec.servers[1].tls.mode: ISTIO_MUTUAL uses the proxy's SVID");
    }

    @Test
    void ruleWithoutActionAndRedirectWithRewriteAreErrors() {
        List<String> msgs =
                messages(
                        """
                apiVersion: networking.istio.io/v1
                kind: VirtualService
                metadata: {name: vs}
                spec:
                  hosts: [a.example.com]
                  http:
                  - match: [{uri: {prefix: /}}]
                  - redirect: {uri: /x}
                    rewrite: {uri: /y}
                """);
        assertThat(msgs)
                .anyMatch(
                        m ->
                                m.contains(
                                        "spec.http[0]: an HTTP rule needs one of route, redirect or directResponse"));
        assertThat(msgs)
                .anyMatch(
                        m ->
                                m.contains(
                                        "spec.http[1].rewrite: rewrite may not be combined with redirect"));
    }

    @Test
    void meshBoundVirtualServiceMayNotUseTheWildcardHost() {
        assertThat(
                        messages(
                                """
                apiVersion: networking.istio.io/v1
                kind: VirtualService
                metadata: {name: vs}
                spec:
                  hosts: ["*"]
                  http: [{route: [{destination: {host: a}}]}]
                """))
                .singleElement()
                .asString()
                .contains(
                        "spec.hosts: wildcard host \"*\" is not allowed for a VirtualService bound to the mesh");
    }

    @Test
    void badHostsDurationsAndPrincipalsAreErrors() {
        assertThat(
                        messages(
                                """
                apiVersion: networking.istio.io/v1
                kind: VirtualService
                metadata: {name: vs}
                spec:
                  hosts: ["foo..bar", "a*.example.com"]
                  gateways: [gw]
                  http: [{timeout: 5 seconds, route: [{destination: {host: a}}]}]
                """))
                .containsExactly(
                        "bad.yaml:5:3: document 0: VirtualService default/vs: spec.hosts[0]: invalid host \"foo..bar\": \"\" is not a DNS label (letters, digits, '-')",
                        "bad.yaml:5:3: document 0: VirtualService default/vs: spec.hosts[1]: invalid host \"a*.example.com\": a wildcard must be the whole first label (\"*.example.com\")",
                        "bad.yaml:7:11: document 0: VirtualService default/vs: spec.http[0].timeout: invalid duration \"5 seconds\" (write e.g. 5s, 250ms, 1m)");
        assertThat(
                        messages(
                                """
                apiVersion: security.istio.io/v1
                kind: AuthorizationPolicy
                metadata: {name: ap}
                spec:
                  rules: [{from: [{source: {principals: ["spiffe://example.org/ns/a/sa/b"]}}]}]
                """))
                .singleElement()
                .asString()
                .contains(
                        "principal \"spiffe://example.org/ns/a/sa/b\" must be written without \"spiffe://\" (e.g. \"example.org/ns/a/sa/b\")");
    }

    @Test
    void metadataNameIsRequiredAndMustBeRfc1123() {
        assertThat(
                        messages(
                                """
                apiVersion: networking.istio.io/v1
                kind: DestinationRule
                metadata: {name: Bad_Name}
                spec: {host: a}
                """))
                .singleElement()
                .asString()
                .contains("metadata.name: invalid name \"Bad_Name\"");
        assertThat(
                        messages(
                                """
                apiVersion: networking.istio.io/v1
                kind: DestinationRule
                metadata: {namespace: x}
                spec: {host: a}
                """))
                .singleElement()
                .asString()
                .contains("metadata.name: is required");
    }

    @Test
    void unknownKindAndUnsupportedVersionAreErrorsButOtherApiGroupsAreSkipped() {
        assertThat(
                        messages(
                                """
                apiVersion: networking.istio.io/v1
                kind: Sidecarz
                metadata: {name: x}
                """))
                .singleElement()
                .asString()
                .contains("kind: unknown kind \"Sidecarz\"");
        assertThat(
                        messages(
                                """
                apiVersion: networking.istio.io/v2
                kind: Gateway
                metadata: {name: x}
                """))
                .singleElement()
                .asString()
                .contains("unsupported version \"networking.istio.io/v2\"");
        MeshYaml.Result ok =
                MeshYaml.parse(
                        "ok.yaml",
                        """
                apiVersion: v1
                kind: ServiceAccount
                metadata: {name: sleep}
                ---
                apiVersion: networking.istio.io/v1
                kind: DestinationRule
                metadata: {name: dr}
                spec: {host: a}
                """);
        assertThat(ok.errors()).isEmpty();
        assertThat(ok.resources()).hasSize(1);
    }

    @Test
    void yamlSyntaxErrorIsReportedWithItsLine() {
        List<ValidationError> errs =
                errors(
                        """
                apiVersion: networking.istio.io/v1
                kind: DestinationRule
                metadata: {name: dr
                spec: {host: a}
                """);
        assertThat(errs)
                .singleElement()
                .satisfies(
                        e -> {
                            assertThat(e.message()).startsWith("invalid YAML:");
                            assertThat(e.line()).isGreaterThan(0);
                        });
    }

    @Test
    void duplicateKeysAndDuplicateResourcesAreErrors() {
        assertThat(
                        messages(
                                """
                apiVersion: networking.istio.io/v1
                kind: DestinationRule
                kind: DestinationRule
                """))
                .singleElement()
                .asString()
                .contains("duplicate key \"kind\"");
        assertThat(
                        messages(
                                """
                apiVersion: networking.istio.io/v1
                kind: DestinationRule
                metadata: {name: dr}
                spec: {host: a}
                ---
                apiVersion: networking.istio.io/v1
                kind: DestinationRule
                metadata: {name: dr}
                spec: {host: b}
                """))
                .singleElement()
                .asString()
                .contains("duplicate resource: already defined at bad.yaml:1");
    }

    @Test
    void serviceEntryRulesAreChecked() {
        List<String> msgs =
                messages(
                        """
                apiVersion: networking.istio.io/v1
                kind: ServiceEntry
                metadata: {name: se}
                spec:
                  hosts: [svc.example.com]
                  resolution: STATIC
                  ports: [{number: 80, name: http, protocol: HTTP}]
                  endpoints:
                  - address: not-an-ip.example.com
                  - address: 10.0.0.1
                    ports: {grpc: 9000}
                """);
        assertThat(msgs)
                .anyMatch(
                        m ->
                                m.contains(
                                        "spec.endpoints[0].address: endpoint address \"not-an-ip.example.com\" is not a valid IP address"));
        assertThat(msgs)
                .anyMatch(
                        m ->
                                m.contains(
                                        "spec.endpoints[1].ports.grpc: endpoint port 9000 is not defined by the service entry"));
    }

    @Test
    void orThrowCarriesEveryError() {
        assertThatThrownBy(
                        () ->
                                MeshYaml.parse(
                                                "bad.yaml",
                                                "apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata: {name: g}\nspec: {}\n")
                                        .orThrow())
                .isInstanceOf(MeshConfigException.class)
                .hasMessageContaining("spec.servers: at least one server is required");
    }

    @Test
    void filesAreReadTogetherAndAMissingFileIsAnError(@TempDir Path dir) throws Exception {
        Path good = dir.resolve("good.yaml");
        Files.writeString(
                good,
                "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: dr}\nspec: {host: a}\n");
        assertThat(MeshYaml.parseFiles(List.of(good)).resources()).hasSize(1);
        MeshYaml.Result r = MeshYaml.parseFiles(List.of(good, dir.resolve("missing.yaml")));
        assertThat(r.resources()).isEmpty();
        assertThat(r.errors())
                .singleElement()
                .asString()
                .contains("missing.yaml: cannot read file");
    }
}
