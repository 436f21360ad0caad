package io.mithril.agent.cache;

/** A workload's identity: the entry that grants it and the SVID that proves it. */
public record Identity(RegistrationEntry entry, CachedSvid svid) {}
