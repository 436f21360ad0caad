package io.mithril.pki;

/** Prints the process's chosen provider id, for {@link CryptoProviderForcingTest}'s child JVMs. */
public final class PrintCryptoProvider {
    private PrintCryptoProvider() {}

    public static void main(String[] args) {
        try {
            System.out.println("chosen=" + CryptoProvider.get().id());
        } catch (CryptoException e) {
            System.out.println("error=" + e.getMessage());
            System.exit(2);
        }
    }
}
