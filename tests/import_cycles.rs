//! No import circle between files: in each crate of the workspace, the
//! `crate::` paths a file names (in `use` or inline) are edges to the files
//! that define them, re-exports followed to where the item lives; the graph
//! must have no cycle. A circle hides the layers (a file cannot be read, or
//! tested, without the ones that read it back).
//!
//! A folder module's files reach each other by `self::` and `super::`,
//! which this check leaves out; its own file depends on the files it
//! declares (`mod x;`), so a circle that leaves the folder and comes back
//! is caught.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// The crates' source roots, from the workspace root.
const CRATES: [&str; 5] = [
    "src",
    "actors/engine/src",
    "actors/chat/src",
    "actors/chat-contract/src",
    "actors/redis/src",
];

#[test]
fn no_import_circle_between_files() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut report = String::new();
    for krate in CRATES {
        let src = root.join(krate);
        let graph = Graph::read(&src);
        // `IMPORT_EDGES=1 cargo test --test import_cycles -- --nocapture`
        // lists every edge.
        if std::env::var_os("IMPORT_EDGES").is_some() {
            for (from, to) in &graph.edges {
                for to in to {
                    println!("{krate}: {from} -> {to}");
                }
            }
        }
        for cycle in graph.cycles() {
            report.push_str(&format!("{krate}: {}\n", cycle.join(" -> ")));
        }
    }
    assert!(report.is_empty(), "import circles:\n{report}");
}

/// Files (paths relative to the crate's `src`) and the files each names.
struct Graph {
    src: PathBuf,
    edges: BTreeMap<String, BTreeSet<String>>,
}

impl Graph {
    fn read(src: &Path) -> Graph {
        let mut graph = Graph {
            src: src.to_owned(),
            edges: BTreeMap::new(),
        };
        for file in rust_files(src) {
            let from = relative(src, &file);
            let text = code_only(&fs::read_to_string(&file).unwrap());
            let mut to = BTreeSet::new();
            // A folder module's own file depends on the files it declares
            // (`mod x;`): a circle through any of them is a circle through
            // the module. The crate root declares everything and is left out.
            if !matches!(from.as_str(), "lib.rs" | "main.rs") {
                let module = module_of(&from);
                for child in declared_modules(&text) {
                    let path = [module.clone(), vec![child]].concat();
                    to.extend(graph.module_file(&path));
                }
            }
            for path in crate_paths(&text) {
                if let Some(target) = graph.resolve(&path, 0)
                    && target != from
                {
                    to.insert(target);
                }
            }
            graph.edges.insert(from, to);
        }
        graph
    }

    /// The file that defines `crate::<path>`: the deepest module file the
    /// path names, then through that file's `pub use` if it re-exports the
    /// next segment.
    fn resolve(&self, path: &[String], depth: usize) -> Option<String> {
        let (file, used) = (0..=path.len())
            .rev()
            .find_map(|n| self.module_file(&path[..n]).map(|f| (f, n)))?;
        if depth < 8
            && let Some(name) = path.get(used)
        {
            let text = code_only(&fs::read_to_string(self.src.join(&file)).unwrap());
            for (alias, target) in reexports(&text, &path[..used]) {
                if &alias == name {
                    let mut further = target;
                    further.extend_from_slice(&path[used + 1..]);
                    return self.resolve(&further, depth + 1).or(Some(file));
                }
            }
        }
        Some(file)
    }

    fn module_file(&self, module: &[String]) -> Option<String> {
        if module.is_empty() {
            return ["lib.rs", "main.rs"]
                .into_iter()
                .find(|f| self.src.join(f).exists())
                .map(str::to_owned);
        }
        let base = module.join("/");
        [format!("{base}.rs"), format!("{base}/mod.rs")]
            .into_iter()
            .find(|f| self.src.join(f).exists())
    }

    /// Every elementary cycle through an edge not in `known`, once each.
    fn cycles(&self) -> Vec<Vec<String>> {
        let mut found = Vec::new();
        for start in self.edges.keys() {
            let mut path = vec![start.clone()];
            self.walk(start, &mut path, &mut found);
        }
        found
    }

    /// Depth-first search for paths back to `path[0]` through files ordered
    /// after it (so each cycle is reported from its least file, once).
    fn walk(&self, at: &String, path: &mut Vec<String>, found: &mut Vec<Vec<String>>) {
        for next in self.edges.get(at).into_iter().flatten() {
            if *next == path[0] {
                let mut cycle = path.clone();
                cycle.push(next.clone());
                found.push(cycle);
            } else if *next > path[0] && !path.contains(next) && found.len() < 50 {
                path.push(next.clone());
                self.walk(next, path, found);
                path.pop();
            }
        }
    }
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files.sort();
    files
}

/// The module path of a file: `a/b/mod.rs` and `a/b.rs` are `a::b`.
fn module_of(file: &str) -> Vec<String> {
    let path = file.strip_suffix(".rs").unwrap_or(file);
    let path = path.strip_suffix("/mod").unwrap_or(path);
    path.split('/').map(str::to_owned).collect()
}

/// The modules a file declares in files of their own (`mod x;`, any
/// visibility), not inline ones (`mod x { ... }`).
fn declared_modules(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("mod ") {
        let before = rest[..at].chars().next_back();
        rest = &rest[at + "mod ".len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        let trimmed = rest.trim_start();
        let end = trimmed
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(trimmed.len());
        if end > 0 && trimmed[end..].trim_start().starts_with(';') {
            found.push(trimmed[..end].to_owned());
        }
    }
    found
}

fn relative(src: &Path, file: &Path) -> String {
    file.strip_prefix(src)
        .unwrap()
        .to_string_lossy()
        .replace('\\', "/")
}

/// The text without comments and string literals (a doc comment may name a
/// path it does not use).
fn code_only(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '/' if chars.peek() == Some(&'/') => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        out.push('\n');
                        break;
                    }
                }
            }
            '/' if chars.peek() == Some(&'*') => {
                let mut last = ' ';
                for c in chars.by_ref() {
                    if last == '*' && c == '/' {
                        break;
                    }
                    last = c;
                }
            }
            '"' => {
                let mut escaped = false;
                for c in chars.by_ref() {
                    if !escaped && c == '"' {
                        break;
                    }
                    escaped = !escaped && c == '\\';
                }
                out.push_str("\"\"");
            }
            // A char literal, not a lifetime: skip `'x'` and `'\x'`.
            '\'' => {
                let ahead: String = chars.clone().take(3).collect();
                let literal = ahead.chars().nth(1) == Some('\'')
                    || (ahead.starts_with('\\') && ahead.contains('\''));
                if literal {
                    for c in chars.by_ref() {
                        if c == '\'' {
                            break;
                        }
                    }
                }
                out.push('\'');
            }
            c => out.push(c),
        }
    }
    out
}

/// Every `crate::` path in `text`, as segments after `crate`: a use tree
/// (`crate::{a::X, b::{Y, Z}}`) gives one path per leaf.
fn crate_paths(text: &str) -> Vec<Vec<String>> {
    let mut paths = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("crate::") {
        let before = rest[..at].chars().next_back();
        rest = &rest[at + "crate::".len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$') {
            continue;
        }
        let (tree, _) = use_tree(rest);
        paths.extend(expand(&tree, &[]).into_iter().map(|(_, p)| p));
    }
    paths
}

/// `pub use` items of a module file, as (name visible, absolute path),
/// for a module at `module` (relative paths resolve against it).
fn reexports(text: &str, module: &[String]) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("pub use ") {
        rest = &rest[at + "pub use ".len()..];
        let (tree, _) = use_tree(rest);
        for (alias, path) in expand(&tree, &[]) {
            let absolute = match path.first().map(String::as_str) {
                Some("crate") => path[1..].to_vec(),
                Some("self") => [module, &path[1..]].concat(),
                Some("super") => [&module[..module.len().saturating_sub(1)], &path[1..]].concat(),
                _ => [module, &path[..]].concat(),
            };
            out.push((alias, absolute));
        }
    }
    out
}

/// A use tree: a path of segments, then a leaf or a group.
#[derive(Debug)]
enum Tree {
    Path(Vec<String>, Option<String>),
    Group(Vec<String>, Vec<Tree>),
}

/// Reads one use tree from the start of `s`; returns it and what follows.
fn use_tree(s: &str) -> (Tree, &str) {
    let mut segments = Vec::new();
    let mut s = s.trim_start();
    loop {
        if let Some(inner) = s.strip_prefix('{') {
            let mut items = Vec::new();
            let mut rest = inner;
            loop {
                rest = rest.trim_start();
                if let Some(after) = rest.strip_prefix('}') {
                    return (Tree::Group(segments, items), after);
                }
                if let Some(after) = rest.strip_prefix(',') {
                    rest = after;
                    continue;
                }
                if rest.is_empty() {
                    return (Tree::Group(segments, items), rest);
                }
                let (item, after) = use_tree(rest);
                items.push(item);
                rest = after;
            }
        }
        let end = s
            .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '*'))
            .unwrap_or(s.len());
        if end == 0 {
            return (Tree::Path(segments, None), s);
        }
        segments.push(s[..end].to_owned());
        s = &s[end..];
        if let Some(after) = s.strip_prefix("::") {
            s = after.trim_start();
            continue;
        }
        let trimmed = s.trim_start();
        if let Some(after) = trimmed.strip_prefix("as ") {
            let after = after.trim_start();
            let end = after
                .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            return (
                Tree::Path(segments, Some(after[..end].to_owned())),
                &after[end..],
            );
        }
        return (Tree::Path(segments, None), s);
    }
}

/// The leaves of a use tree: (the name it brings in, its full path).
fn expand(tree: &Tree, prefix: &[String]) -> Vec<(String, Vec<String>)> {
    match tree {
        Tree::Path(segments, alias) => {
            let mut path = [prefix, segments].concat();
            if path.last().is_some_and(|s| s == "self") {
                path.pop();
            }
            let name = alias.clone().or_else(|| path.last().cloned());
            name.map(|n| (n, path)).into_iter().collect()
        }
        Tree::Group(segments, items) => {
            let prefix = [prefix, segments].concat();
            items.iter().flat_map(|t| expand(t, &prefix)).collect()
        }
    }
}

#[test]
fn use_trees_expand_to_their_leaves() {
    let paths = crate_paths("use crate::{a::X, b::{self, c::Y as Z}, D};\nlet x = crate::e::f(1);");
    let expected: Vec<Vec<String>> = [
        vec!["a", "X"],
        vec!["b"],
        vec!["b", "c", "Y"],
        vec!["D"],
        vec!["e", "f"],
    ]
    .iter()
    .map(|p| p.iter().map(|s| s.to_string()).collect())
    .collect();
    assert_eq!(paths, expected);
}

#[test]
fn declared_modules_are_those_in_files_of_their_own() {
    let text = "pub mod a;\nmod b ;\npub(crate) mod c;\nmod inline { }\nlet model = 1;";
    assert_eq!(declared_modules(text), ["a", "b", "c"]);
    assert_eq!(module_of("x/y/mod.rs"), ["x", "y"]);
    assert_eq!(module_of("x/z.rs"), ["x", "z"]);
}

#[test]
fn comments_and_strings_name_no_path() {
    let text =
        code_only("// crate::a\n/* crate::b */ let s = \"crate::c\"; let c = '\"'; crate::d");
    assert_eq!(crate_paths(&text), vec![vec!["d".to_string()]]);
}
