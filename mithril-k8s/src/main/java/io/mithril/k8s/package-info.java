/** Kubernetes client code shared by the identity server, the agent and the CLI. */
package io.mithril.k8s;
