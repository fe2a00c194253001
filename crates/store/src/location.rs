//! Where the store lives, as `--db` names it: a file path (`huashu.db`, `sqlite:PATH`) for the
//! embedded SQLite backend, or a `postgres://USER@HOST/DB` URL for PostgreSQL.

use std::fmt;
use std::path::{Path, PathBuf};

/// A database location (see the module docs for the accepted forms).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// An SQLite file, created if missing.
    Sqlite(PathBuf),
    /// A PostgreSQL connection string (URL or `key=value` form).
    Postgres(String),
}

impl Location {
    /// `postgres://…` / `postgresql://…` → PostgreSQL; `sqlite:PATH` or any other text → the
    /// SQLite file at that path.
    pub fn parse(s: &str) -> Location {
        if s.starts_with("postgres://") || s.starts_with("postgresql://") {
            Location::Postgres(s.to_string())
        } else if let Some(path) = s.strip_prefix("sqlite://") {
            Location::Sqlite(PathBuf::from(path))
        } else if let Some(path) = s.strip_prefix("sqlite:") {
            Location::Sqlite(PathBuf::from(path))
        } else {
            Location::Sqlite(PathBuf::from(s))
        }
    }

    /// The SQLite file, if this is one.
    pub fn sqlite_path(&self) -> Option<&Path> {
        match self {
            Location::Sqlite(p) => Some(p),
            Location::Postgres(_) => None,
        }
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self, Location::Postgres(_))
    }
}

impl std::str::FromStr for Location {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Location::parse(s))
    }
}

impl From<PathBuf> for Location {
    fn from(p: PathBuf) -> Self {
        Location::Sqlite(p)
    }
}

impl From<&PathBuf> for Location {
    fn from(p: &PathBuf) -> Self {
        Location::Sqlite(p.clone())
    }
}

impl From<&Path> for Location {
    fn from(p: &Path) -> Self {
        Location::Sqlite(p.to_path_buf())
    }
}

impl From<&Location> for Location {
    fn from(l: &Location) -> Self {
        l.clone()
    }
}

/// Paths as given; PostgreSQL URLs without their password.
impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Sqlite(p) => write!(f, "{}", p.display()),
            Location::Postgres(url) => match url.split_once("://") {
                Some((scheme, rest)) => match rest.split_once('@') {
                    Some((user, host)) => {
                        let user = user.split(':').next().unwrap_or("");
                        write!(f, "{scheme}://{user}@{host}")
                    }
                    None => write!(f, "{url}"),
                },
                None => f.write_str("postgres (connection string)"),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn db_arguments_name_their_backend() {
        const CASES: &[(&str, Option<&str>, Option<&str>)] = &[
            ("huashu.db", Some("huashu.db"), None),
            ("sqlite:/tmp/x.db", Some("/tmp/x.db"), None),
            ("sqlite:///tmp/x.db", Some("/tmp/x.db"), None),
            ("./data/h.db", Some("./data/h.db"), None),
            (
                "postgres://root@127.0.0.1/test",
                None,
                Some("postgres://root@127.0.0.1/test"),
            ),
            (
                "postgresql://u:pw@h:5432/d",
                None,
                Some("postgresql://u:pw@h:5432/d"),
            ),
        ];
        for &(arg, path, url) in CASES {
            let l = Location::parse(arg);
            assert_eq!(l.sqlite_path(), path.map(Path::new), "{arg}");
            assert_eq!(
                match &l {
                    Location::Postgres(u) => Some(u.as_str()),
                    Location::Sqlite(_) => None,
                },
                url,
                "{arg}"
            );
        }
        assert_eq!(
            Location::parse("postgresql://u:pw@h:5432/d").to_string(),
            "postgresql://u@h:5432/d"
        );
    }
}
