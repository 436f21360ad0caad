package io.mithril.agent.endpoints.workload;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.mithril.agent.cache.JwtAuthority;
import io.mithril.agent.cache.TrustBundle;
import io.mithril.spiffe.bundle.Jwk;
import java.nio.charset.StandardCharsets;

/** Renders a bundle's JWT authorities as a JWK Set, as {@code FetchJWTBundles} serves them. */
final class Jwks {

    private static final ObjectMapper JSON = new ObjectMapper();

    private Jwks() {
    }

    static byte[] jwtJwks(TrustBundle bundle) {
        ObjectNode root = JSON.createObjectNode();
        ArrayNode keys = root.putArray("keys");
        for (JwtAuthority a : bundle.jwtAuthorities()) {
            ObjectNode k = keys.addObject();
            ObjectNode jwk = Jwk.toJwk(a.publicKey());
            // The order FetchJWTBundles has always served: kty, kid, use, then the key members.
            k.set("kty", jwk.remove("kty"));
            k.put("kid", a.keyId());
            k.put("use", "jwt-svid");
            k.setAll(jwk);
        }
        return root.toString().getBytes(StandardCharsets.UTF_8);
    }
}
