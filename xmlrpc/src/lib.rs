//! The legacy XML-RPC front of certgate. It will decode XML-RPC calls,
//! authenticate API users and call the order core (`orders`).
//! Not built yet: see issue 4. The gateway does not route to it until then.
