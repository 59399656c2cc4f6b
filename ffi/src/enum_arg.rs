//! Enum arguments as C passes them. A C enum is an `int` that may hold any value: a newer
//! header's (a program built against a later version, run with this library), or garbage. A Rust
//! enum holding a value it does not name is undefined behaviour (a `match` on it jumped to a
//! wild address), so each function taking an enum takes its `*_arg` twin, the bare number, and
//! checks it. cbindgen writes the twin as the enum itself (`[export.rename]` in cbindgen.toml),
//! so the header and the ABI are unchanged.

/// Defines `$arg`, the number C passes for `$enum`, with `get()` giving the variant it names
/// (`None` for any other). `$variant`s must name every variant (a `match` checks it).
macro_rules! enum_arg {
    ($arg:ident => $enum:ident [$($variant:ident),+ $(,)?]) => {
        #[doc = concat!("`", stringify!($enum), "` as C passes it, checked by `get`.")]
        #[repr(transparent)]
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub struct $arg(pub std::ffi::c_uint);

        impl $arg {
            /// The variant this number names, if any.
            pub(crate) fn get(self) -> Option<$enum> {
                // Every variant is listed: this match fails to compile when one is added.
                let _every = |e: $enum| match e {
                    $($enum::$variant)|+ => (),
                };
                [$($enum::$variant),+]
                    .into_iter()
                    .find(|v| *v as std::ffi::c_uint == self.0)
            }

            /// [`Self::get`], or `BITTERN_RESULT_INVALID_ARGUMENT` naming the argument `name`.
            pub(crate) fn value(self, name: &str) -> Result<$enum, crate::Failure> {
                self.get().ok_or_else(|| {
                    crate::Failure::invalid(format!(
                        "`{name}` is {}, not a {} value",
                        self.0,
                        stringify!($enum)
                    ))
                })
            }
        }

        impl From<$enum> for $arg {
            fn from(e: $enum) -> Self {
                $arg(e as std::ffi::c_uint)
            }
        }
    };
}
pub(crate) use enum_arg;
