"""Build one Lambda function's deployment artifact: only what that function imports.

    python scripts/build_function.py CaptureFunction ARTIFACTS_DIR   # what `sam build` runs (Makefile)
    python scripts/build_function.py --all OUT_DIR                  # every function, OUT_DIR/<LogicalId>

`sam build` calls `make build-<LogicalId>` (Metadata BuildMethod: makefile) and this script
fills ARTIFACTS_DIR:

- our modules the handler reaches (imports anywhere in a module, also inside functions; the rule
  set parsers that services.rulesets imports by name), with the data files those modules read;
- the third-party distributions they import, with their own requirements, installed for the
  function's runtime and architecture from wheels (one shared, cached install of the project's
  dependencies), without what the Lambda runtime provides (boto3, botocore and theirs);
- nothing else: no tests, type stubs, C headers, phonenumbers' geocoding/carrier/timezone data
  (never imported), no packaging metadata beyond METADATA;
- `.pyc` compiled by the runtime's Python version with unchecked-hash invalidation: the deploy
  zip dates every file 1980-01-01, which makes timestamp-checked `.pyc` stale, and /var/task is
  read-only, so without them every cold start compiles everything again.

Standard library only (plus pip), so it runs under any Python >= 3.11 that has pip; the
interpreter of the runtime's version (python3.13 for `Runtime: python3.13`) is found on PATH,
in pyenv, or taken from $LAMBDA_PYTHON.
"""

from __future__ import annotations

import argparse
import ast
import fcntl
import glob
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TEMPLATE = REPO / "template.yaml"
CACHE = REPO / ".leadflow" / "build"
OUR_PACKAGES = ("leadflow", "functions")
# What every Lambda Python runtime ships next to the handler (and its dependencies).
RUNTIME_PROVIDED = frozenset({"boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "urllib3", "six"})
# Data files read by our modules at run time (module -> paths relative to the repository).
DATA = {
    "leadflow.domain.plausibility.geo": ["leadflow/data/cities.tsv.gz"],
    "leadflow.domain.mail": ["leadflow/templates"],
    "leadflow.services.config": ["config/*.yaml"],
}
# Rule-set parsers are imported by name (services.rulesets.PARSERS): a module that calls
# active_rules("name") needs that parser; one that publishes or validates rule sets, all of them.
RULESETS = REPO / "leadflow" / "services" / "rulesets.py"
# Distributions required by a dependency but never imported by the code: email-validator's
# dnspython serves only its deliverability check, which contact.py turns off.
NEVER_IMPORTED = frozenset({"dnspython"})
# Removed from every artifact: never imported at run time.
JUNK_DIRS = frozenset({"tests", "__pycache__", "include", "_distutils_hack"})
JUNK_SUFFIXES = (".pyi", ".h", ".c", ".pxd", ".pyx", ".cpp", ".hpp")
# phonenumbers' offline geocoder, carrier and timezone data (19 MB): the code imports only
# phonenumbers itself (see leadflow/domain/plausibility/contact.py); without these modules an
# accidental import fails loudly instead of shipping 19 MB to every function.
PRUNE = ("phonenumbers/geodata", "phonenumbers/carrierdata", "phonenumbers/tzdata",
         "phonenumbers/geocoder.py", "phonenumbers/carrier.py", "phonenumbers/timezone.py",
         # numpy's build and test tools, and submodules numpy loads lazily that training never uses:
         # it uses linalg and numpy.ma (np.quantile -> np.unique -> np.ma.is_masked), not random
         # (2.9 MB; its subsamples come from gbm._uniform); the train function's artifact test
         # trains a model in the artifact
         "numpy/f2py", "numpy/distutils", "numpy/_pyinstaller", "numpy/testing", "numpy/fft",
         "numpy/polynomial", "numpy/random", "numpy/typing",
         # translations of holiday names (4.7 MB): SLA deadlines use the dates only; without them
         # holidays falls back to the native names (gettext fallback)
         "holidays/locale",
         # Swagger UI's bundled assets: served only by enable_swagger(), which no function calls
         "aws_lambda_powertools/event_handler/openapi/swagger_ui/swagger-ui-bundle.min.js",
         "aws_lambda_powertools/event_handler/openapi/swagger_ui/swagger-ui.min.css")
# numpy's own test extensions (for its test suite; nothing imports them)
PRUNE_GLOBS = ("numpy/_core/_simd.*.so", "numpy/_core/_*_tests.*.so",
               "numpy/linalg/lapack_lite.*.so")  # numpy.linalg uses _umath_linalg (with OpenBLAS)
GLIBC = {"python3.11": 26, "python3.12": 34, "python3.13": 34}  # Amazon Linux 2 / 2023


# ------------------------------------------------------------------------------ template

@dataclass(frozen=True)
class Function:
    logical_id: str
    handler: str  # functions.capture.handler
    runtime: str  # python3.13
    architecture: str  # x86_64 | arm64

    @property
    def module(self) -> str:
        return self.handler.rsplit(".", 1)[0]

    @property
    def python_version(self) -> str:
        return self.runtime.removeprefix("python")


def _blocks(text: str, indent: int) -> dict[str, list[str]]:
    """Top-level keys at `indent` spaces -> their lines (a YAML reader just for template.yaml's
    plain block style; the stdlib has no YAML and CloudFormation tags need a custom loader)."""
    out: dict[str, list[str]] = {}
    current = None
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        lead = len(line) - len(line.lstrip(" "))
        if lead == indent and re.match(r"^[A-Za-z0-9_]+:", stripped):
            current = stripped.split(":", 1)[0]
            out[current] = []
        elif lead < indent:
            current = None
        elif current is not None:
            out[current].append(line)
    return out


def _value(lines: list[str], key: str) -> str | None:
    for line in lines:
        match = re.match(rf"^\s+{key}:\s*(.+?)\s*(#.*)?$", line)
        if match:
            return match[1].strip("[]\"' ")
    return None


def functions(template: Path = TEMPLATE) -> dict[str, Function]:
    """Every AWS::Serverless::Function of template.yaml with its handler, runtime and architecture."""
    top = _blocks(template.read_text(), 0)
    globals_ = _blocks("\n".join(top.get("Globals", [])), 2).get("Function", [])
    out = {}
    for logical_id, lines in _blocks("\n".join(top["Resources"]), 2).items():
        if _value(lines, "Type") != "AWS::Serverless::Function":
            continue
        out[logical_id] = Function(
            logical_id=logical_id,
            handler=_value(lines, "Handler") or "",
            runtime=_value(lines, "Runtime") or _value(globals_, "Runtime") or "",
            architecture=_value(lines, "Architectures") or _value(globals_, "Architectures") or "x86_64",
        )
    return out


# ------------------------------------------------------------------------------ our modules

def _module_file(name: str) -> Path | None:
    base = REPO.joinpath(*name.split("."))
    if (base / "__init__.py").is_file():
        return base / "__init__.py"
    if base.with_suffix(".py").is_file():
        return base.with_suffix(".py")
    return None


def _type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(name: str, path: Path) -> set[str]:
    """Absolute names of every module `path` imports, wherever the import statement stands."""
    tree = ast.parse(path.read_text(), str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    skip = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If) and _type_checking(node)
            for child in node.body for n in ast.walk(child)}
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)  # `from pkg import submodule`
    parsers = _parsers()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        called = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        if called == "active_rules":
            literal = node.args[0].value if node.args and isinstance(node.args[0], ast.Constant) else None
            found.update([parsers[literal]] if literal in parsers else parsers.values())
        elif called in ("publish", "validate") and "leadflow.services.config" in found:
            found.update(parsers.values())  # validates any rule set
    return found


def _parsers() -> dict[str, str]:
    """Rule-set name -> the module of its parser (services.rulesets.PARSERS)."""
    for node in ast.walk(ast.parse(RULESETS.read_text())):
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "PARSERS" for t in node.targets):
            return {k: v.split(":")[0] for k, v in ast.literal_eval(node.value).items()}
    raise SystemExit("build_function: PARSERS not found in services/rulesets.py")


def reached(module: str) -> tuple[dict[str, Path], set[str]]:
    """(our modules the handler module reaches -> file, third-party top-level names it imports)."""
    ours: dict[str, Path] = {}
    third: set[str] = set()
    todo = [module]
    stdlib = set(sys.stdlib_module_names) | {"__future__"}
    while todo:
        name = todo.pop()
        top = name.split(".")[0]
        if top not in OUR_PACKAGES:
            if top not in stdlib:
                third.add(top)
            continue
        parts = name.split(".")
        for i in range(1, len(parts) + 1):  # the packages above a module are imported first
            candidate = ".".join(parts[:i])
            if candidate in ours:
                continue
            path = _module_file(candidate)
            if path is None:
                continue  # `from pkg import name` where name is not a module
            ours[candidate] = path
            todo.extend(_imports(candidate, path))
    return ours, third


# ------------------------------------------------------------------------------ dependencies

def lambda_python(version: str) -> str:
    """An interpreter of the runtime's Python version: it compiles the .pyc files."""
    if os.environ.get("LAMBDA_PYTHON"):
        return os.environ["LAMBDA_PYTHON"]
    if f"{sys.version_info.major}.{sys.version_info.minor}" == version:
        return sys.executable
    candidates = [shutil.which(f"python{version}") or ""]
    candidates += sorted(glob.glob(os.path.expanduser(f"~/.pyenv/versions/{version}*/bin/python{version}")),
                         reverse=True)
    for candidate in candidates:
        if candidate and subprocess.run([candidate, "-c", "import pip"], capture_output=True).returncode == 0:
            return candidate
    sys.exit(f"build_function: the runtime python{version} needs a Python {version} interpreter with pip "
             f"to compile its .pyc files: install it (pyenv install {version}) or set LAMBDA_PYTHON")


def _requirements() -> list[str]:
    return tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]


def _platforms(fn: Function) -> list[str]:
    machine = "aarch64" if fn.architecture == "arm64" else "x86_64"
    glibc = GLIBC.get(fn.runtime, 26)
    return ["manylinux2014_" + machine] + [f"manylinux_2_{minor}_{machine}" for minor in range(17, glibc + 1)]


def site(fn: Function, python: str) -> Path:
    """The project's dependencies installed for the function's runtime and architecture, pruned and
    compiled (cached: keyed on the requirements, runtime, architecture and this script)."""
    requirements = _requirements()
    recipe = [requirements, fn.runtime, fn.architecture, Path(__file__).read_text()]  # this script prunes it
    key = hashlib.sha256(json.dumps(recipe).encode()).hexdigest()[:16]
    target = CACHE / f"site-{fn.runtime}-{fn.architecture}-{key}"
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / ".lock", "w") as lock:  # `sam build --parallel` runs several builds at once
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (target / ".complete").exists():
            _install(target, fn, python, requirements)
    return target


def _install(target: Path, fn: Function, python: str, requirements: list[str]) -> None:
    shutil.rmtree(target, ignore_errors=True)
    command = [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile",
               "--target", str(target), "--only-binary=:all:", "--implementation", "cp",
               "--python-version", fn.python_version]
    for platform in _platforms(fn):
        command += ["--platform", platform]
    subprocess.run([*command, *requirements], check=True, env={**os.environ, "PIP_ROOT_USER_ACTION": "ignore"})
    _clean(target)
    _strip(target, fn)
    _compile(python, target, legacy=True)
    (target / ".complete").write_text("")


@dataclass
class Dist:
    name: str  # normalised
    info: Path  # the .dist-info directory
    files: list[str]  # paths relative to the site, from RECORD
    top_level: set[str]
    requires: list[str]  # Requires-Dist lines


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _dists(site_dir: Path) -> dict[str, Dist]:
    out = {}
    for info in site_dir.glob("*.dist-info"):
        meta = (info / "METADATA").read_text(encoding="utf-8", errors="replace")
        header = meta.split("\n\n", 1)[0]
        name = _normal(re.search(r"^Name:\s*(.+)$", header, re.M)[1].strip())
        requires = re.findall(r"^Requires-Dist:\s*(.+)$", header, re.M)
        files = [line.split(",")[0] for line in (info / "RECORD").read_text().splitlines() if line]
        top = {f.split("/")[0].removesuffix(".py") for f in files
               if not f.split("/")[0].endswith((".dist-info", ".data")) and not f.startswith("..")}
        top = {t.split(".")[0] for t in top}
        out[name] = Dist(name, info, files, top, requires)
    return out


def _closure(roots: set[str], dists: dict[str, Dist], fn: Function) -> set[str]:
    try:
        from pip._vendor.packaging.requirements import Requirement
    except ImportError:  # pragma: no cover - pip without its vendored packaging
        from packaging.requirements import Requirement
    declared = {_normal(Requirement(r).name): Requirement(r).extras for r in _requirements()}
    environment = {"python_version": fn.python_version, "python_full_version": fn.python_version + ".0",
                   "sys_platform": "linux", "platform_system": "Linux", "os_name": "posix",
                   "platform_machine": "aarch64" if fn.architecture == "arm64" else "x86_64",
                   "implementation_name": "cpython", "platform_python_implementation": "CPython"}
    seen: set[str] = set()
    todo = [(name, declared.get(name, set())) for name in roots]
    while todo:
        name, extras = todo.pop()
        if name in RUNTIME_PROVIDED or name in NEVER_IMPORTED or name not in dists:
            continue
        key = f"{name}[{','.join(sorted(extras))}]"
        if key in seen:
            continue
        seen.add(key)
        for line in dists[name].requires:
            req = Requirement(line)
            applies = req.marker is None or any(req.marker.evaluate({**environment, "extra": e})
                                                 for e in ["", *sorted(extras)])
            if applies:
                todo.append((_normal(req.name), req.extras))
    return {key.split("[")[0] for key in seen}


# ------------------------------------------------------------------------------ files

def _clean(root: Path) -> None:
    for rel in PRUNE:
        path = root / rel
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
    for pattern in PRUNE_GLOBS:
        for path in root.glob(pattern):
            path.unlink()
    for dirpath, dirnames, filenames in os.walk(root):
        for d in [d for d in dirnames if d in JUNK_DIRS]:
            shutil.rmtree(Path(dirpath) / d)
            dirnames.remove(d)
        for f in filenames:
            if f.endswith(JUNK_SUFFIXES):
                os.unlink(Path(dirpath) / f)
    for info in root.glob("*.dist-info"):  # importlib.metadata needs METADATA only
        for path in info.iterdir():
            if path.name not in ("METADATA", "RECORD", "entry_points.txt"):
                shutil.rmtree(path) if path.is_dir() else path.unlink()


def _strip(root: Path, fn: Function) -> None:
    """Debug information and the static symbol tables out of native extensions and the libraries
    they load (PyYAML, wrapt, numpy and its OpenBLAS: 1.4 MB): nobody reads them on Lambda; the
    dynamic symbols the loader needs stay (--strip-unneeded, as distributions strip shared
    libraries). Only where this machine's strip understands the binaries."""
    machine = "aarch64" if fn.architecture == "arm64" else "x86_64"
    if shutil.which("strip") is None or os.uname().machine != machine:
        return
    for path in [*root.rglob("*.so"), *root.rglob("*.so.*")]:
        subprocess.run(["strip", "--strip-unneeded", str(path)], check=False, capture_output=True)


def _compile(python: str, *roots: Path, legacy: bool = False) -> None:
    """Our code: source + __pycache__/*.pyc (unchecked-hash: the zip's 1980 dates do not make them
    stale), so tracebacks show our lines. Libraries (legacy=True): `module.pyc` in place of the
    source, which halves their size; their frames still name file and line."""
    subprocess.run([python, "-m", "compileall", "-q", "-j", "0", "--invalidation-mode", "unchecked-hash",
                    *(["-b"] if legacy else []), *map(str, roots)], check=True, stdout=subprocess.DEVNULL)


def _copy(src: Path, dst: Path) -> None:
    """Hard link where possible (same file system: fast, no space), else copy."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def build(fn: Function, out: Path, python: str | None = None) -> dict:
    """Fill `out` with the function's artifact; returns what went in (for reports and tests)."""
    python = python or lambda_python(fn.python_version)
    ours, third = reached(fn.module)
    site_dir = site(fn, python)
    dists = _dists(site_dir)
    by_top = {top: d.name for d in dists.values() for top in d.top_level}
    missing = sorted(t for t in third if t not in by_top)
    if missing:
        sys.exit(f"build_function: {fn.logical_id} imports {missing}, which no dependency in pyproject.toml provides")
    included = _closure({by_top[t] for t in third}, dists, fn)
    out.mkdir(parents=True, exist_ok=True)
    for name in sorted(included):
        for rel in dists[name].files:
            src = site_dir / rel
            if src.suffix == ".py" and src.with_suffix(".pyc").is_file():
                src, rel = src.with_suffix(".pyc"), str(Path(rel).with_suffix(".pyc"))  # compiled, no source
            if src.is_file():
                _copy(src, out / rel)
    for path in ours.values():
        _copy(path, out / path.relative_to(REPO))
    for module, patterns in DATA.items():
        if module in ours:
            for pattern in patterns:
                for src in REPO.glob(pattern):
                    if src.is_dir():
                        shutil.copytree(src, out / src.relative_to(REPO), dirs_exist_ok=True)
                    else:
                        _copy(src, out / src.relative_to(REPO))
    _compile(python, *(out / package for package in OUR_PACKAGES))
    return {"function": fn.logical_id, "handler": fn.handler, "distributions": sorted(included),
            "modules": len(ours), "bytes": size(out)}


def size(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--all", action="store_true", help="every function, each into OUT/<LogicalId>")
    parser.add_argument("function", nargs="?", help="logical id in template.yaml")
    parser.add_argument("out", type=Path, help="ARTIFACTS_DIR (with --all: the parent directory)")
    args = parser.parse_args(argv)
    known = functions()
    if args.all:
        targets = [(fn, args.out / fn.logical_id) for fn in known.values()]
    elif args.function in known:
        targets = [(known[args.function], args.out)]
    else:
        parser.error(f"{args.function} is not a function in template.yaml ({', '.join(known)})")
    for fn, out in targets:
        report = build(fn, out)
        print(f"{fn.logical_id}: {report['bytes'] / 1e6:.1f} MB, {report['modules']} modules of ours, "
              f"{', '.join(report['distributions'])}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
