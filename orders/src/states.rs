//! Enums of states whose every state has one word, the same in the
//! database and on the wire: the macro that writes `as_str`, `parse` and
//! `Display` for each (and equality with a word), so that a word is
//! spelled once.

/// Defines an enum of states with its one word per state: `as_str`,
/// `parse` (`None` for a word it does not know), and `Display`.
macro_rules! states {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $word:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            /// Its word, in the database and in ACME's JSON.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $word),+
                }
            }

            /// The state a stored word names.
            pub fn parse(word: &str) -> Option<$name> {
                match word {
                    $($word => Some($name::$variant),)+
                    _ => None,
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        /// A state equals its word, so that a front or a test may compare
        /// it with the word it shows.
        impl PartialEq<&str> for $name {
            fn eq(&self, word: &&str) -> bool {
                self.as_str() == *word
            }
        }
    };
}
pub(crate) use states;
