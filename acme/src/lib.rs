//! The ACME front of certgate (RFC 8555 with External Account Binding per
//! ACME URL). It will parse and authenticate ACME requests and call the order
//! core (`orders`); it never writes SQL about money or calls an upstream CA.
//! Not built yet: see issue 3. The gateway does not route to it until then.
