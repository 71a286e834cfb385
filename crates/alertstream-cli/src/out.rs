//! Lines on stdout for every command. Writing returns the error instead of
//! panicking: a closed pipe (`alertstream topics | head -1`) reaches `main`,
//! which exits 0 quietly, as ripgrep does.

/// `println!` that returns `std::io::Result<()>`.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($arg)*)
    }};
}
pub(crate) use say;
