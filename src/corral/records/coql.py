"""COQL text -> a syntax tree of plain values, with a Lark LALR grammar (no regular-expression
parsing of the query itself).

The grammar follows Zoho's COQL: `SELECT` fields, lookup paths (`Account_Name.Account_Name`)
and aggregates with optional aliases, `FROM` module, `WHERE` with Zoho's comparators, at most
two criteria per parenthesis level (`(A and B) and C`, as Zoho demands: `A and B and C` is a
syntax error there too), `GROUP BY`, `ORDER BY` with several keys, and `LIMIT n`,
`LIMIT offset, count`, `LIMIT n OFFSET m`. Keywords ignore case. What the text means (fields,
types, limits) is decided by `records/coql_compile.py`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

from lark import Lark, Token, Transformer, Tree, v_args
from lark.exceptions import (
    UnexpectedCharacters,
    UnexpectedEOF,
    UnexpectedInput,
    UnexpectedToken,
    VisitError,
)

from corral.errors import CorralError, LimitExceeded, QuerySyntaxError

GRAMMAR = r"""
start: _SELECT items _FROM NAME where? group? order? limit?

items: item ("," item)*
item: expr (_AS NAME)?
?expr: path | aggregate
aggregate: NAME "(" path ")"
path: _part ("." _part)*
_part: NAME | STRING

where: _WHERE criteria
?criteria: operand
         | operand _AND operand -> both
         | operand _OR operand -> either
?operand: condition | "(" criteria ")"
condition: path COMPARATOR value -> compare
         | path NOT? _LIKE value -> like
         | path NOT? _IN "(" value ("," value)* ")" -> within
         | path _BETWEEN value _AND value -> between
         | path _IS NOT? _NULL -> is_null
value: STRING -> string
     | NUMBER -> number
     | TRUE -> true
     | FALSE -> false
     | NAME -> word

group: _GROUP _BY path ("," path)*
order: _ORDER _BY sort ("," sort)*
sort: expr DIRECTION?
limit: _LIMIT NUMBER -> limit_count
     | _LIMIT NUMBER "," NUMBER -> limit_pair
     | _LIMIT NUMBER _OFFSET NUMBER -> limit_offset

_SELECT: "select"i
_FROM: "from"i
_WHERE: "where"i
_AND: "and"i
_OR: "or"i
NOT: "not"i
_LIKE: "like"i
_IN: "in"i
_BETWEEN: "between"i
_IS: "is"i
_NULL: "null"i
TRUE: "true"i
FALSE: "false"i
_GROUP: "group"i
_ORDER: "order"i
_BY: "by"i
_LIMIT: "limit"i
_OFFSET: "offset"i
_AS: "as"i
DIRECTION: "asc"i | "desc"i
COMPARATOR: /!=|<>|<=|>=|=|<|>/
NAME: /[a-z_$][a-z0-9_$]*/i
STRING: /'(?:[^']|'')*'/ | /"(?:[^"]|"")*"/
NUMBER: /[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)/

%import common.WS
%ignore WS
"""

# Words of SQL that COQL does not support: a query using one gets SYNTAX_ERROR naming it.
UNSUPPORTED_CLAUSES = frozenset({
    "having", "join", "inner", "left", "right", "outer", "cross", "union", "intersect",
    "except", "distinct", "insert", "update", "delete", "drop", "create", "alter", "with",
    "into", "values", "set", "top", "fetch", "window", "over", "exists", "case",
})
PARSE_ERROR = "error occurred while parsing the query"
# Zoho's limit of criteria in WHERE, checked on the parse tree before anything recurses over
# it (a WHERE nested thousands deep must not exhaust the stack).
MAX_CRITERIA = 25
_CONDITIONS = frozenset({"compare", "like", "within", "between", "is_null"})


# ----------------------------------------------------------------------------- the tree
@dataclass(frozen=True)
class Path:
    """A field (`Last_Name`) or a lookup path (`Account_Name.Owner.email`)."""

    parts: tuple[str, ...]

    @property
    def text(self) -> str:
        return ".".join(self.parts)


@dataclass(frozen=True)
class AggregateCall:
    func: str  # as written; checked by the compiler
    arg: Path

    @property
    def text(self) -> str:
        return f"{self.func.upper()}({self.arg.text})"


Expr = Path | AggregateCall


@dataclass(frozen=True)
class Item:
    expr: Expr
    alias: str | None = None


@dataclass(frozen=True)
class Lit:
    """A value as written: quoted text (quotes removed, doubled quotes undone), a number, a
    boolean or a bare word."""

    kind: Literal["string", "number", "boolean", "word"]
    text: str


Comparison = Literal["=", "!=", "<", "<=", ">", ">=", "like", "not like", "in", "not in",
                     "between", "is null", "is not null"]


@dataclass(frozen=True)
class Condition:
    path: Path
    op: Comparison
    values: tuple[Lit, ...] = ()


@dataclass(frozen=True)
class Logic:
    op: Literal["and", "or"]
    left: Criteria
    right: Criteria


Criteria = Condition | Logic


@dataclass(frozen=True)
class SortKey:
    expr: Expr
    descending: bool = False


@dataclass(frozen=True)
class Query:
    items: tuple[Item, ...]
    module: str
    where: Criteria | None = None
    group_by: tuple[Path, ...] = ()
    order_by: tuple[SortKey, ...] = ()
    limit: int | None = None
    offset: int | None = None


def conditions(c: Criteria | None) -> list[Condition]:
    """The comparisons of a WHERE clause, left to right."""
    if c is None:
        return []
    if isinstance(c, Condition):
        return [c]
    return [*conditions(c.left), *conditions(c.right)]


# ----------------------------------------------------------------------------- parsing
def _unquote(token: str) -> str:
    quote = token[0]
    return token[1:-1].replace(quote * 2, quote)


def _whole(token: Token) -> int:
    text = str(token)
    if not text.isdigit():
        raise QuerySyntaxError(PARSE_ERROR, {"near": text, "line": token.line or 1,
                                             "column": token.column or 1})
    return int(text)


@v_args(inline=True)
class _Tree(Transformer[Token, Any]):
    """Lark's parse tree -> the frozen values above."""

    def start(self, items: tuple[Item, ...], module: Token, *clauses: Any) -> Query:
        parts: dict[str, Any] = {}
        for clause in clauses:
            parts.update(clause)
        return Query(items=items, module=str(module), **parts)

    def items(self, *items: Item) -> tuple[Item, ...]:
        return items

    def item(self, expr: Expr, alias: Token | None = None) -> Item:
        return Item(expr, str(alias) if alias is not None else None)

    def aggregate(self, func: Token, arg: Path) -> AggregateCall:
        return AggregateCall(str(func), arg)

    def path(self, *names: Token) -> Path:
        """A quoted part is a name too: Zoho's way to use a reserved word (`'External'`)."""
        return Path(tuple(_unquote(str(n)) if n.type == "STRING" else str(n) for n in names))

    def where(self, criteria: Criteria) -> dict[str, Any]:
        return {"where": criteria}

    def both(self, left: Criteria, right: Criteria) -> Logic:
        return Logic("and", left, right)

    def either(self, left: Criteria, right: Criteria) -> Logic:
        return Logic("or", left, right)

    def compare(self, path: Path, op: Token, value: Lit) -> Condition:
        text = "!=" if str(op) == "<>" else str(op)
        return Condition(path, text, (value,))  # type: ignore[arg-type]

    def like(self, path: Path, *rest: Any) -> Condition:
        return Condition(path, "not like" if len(rest) == 2 else "like", (rest[-1],))

    def within(self, path: Path, *rest: Any) -> Condition:
        negated = isinstance(rest[0], Token)
        values = rest[1:] if negated else rest
        return Condition(path, "not in" if negated else "in", tuple(values))

    def between(self, path: Path, low: Lit, high: Lit) -> Condition:
        return Condition(path, "between", (low, high))

    def is_null(self, path: Path, negated: Token | None = None) -> Condition:
        return Condition(path, "is not null" if negated is not None else "is null")

    def string(self, token: Token) -> Lit:
        return Lit("string", _unquote(str(token)))

    def number(self, token: Token) -> Lit:
        return Lit("number", str(token))

    def true(self, token: Token) -> Lit:
        return Lit("boolean", "true")

    def false(self, token: Token) -> Lit:
        return Lit("boolean", "false")

    def word(self, token: Token) -> Lit:
        return Lit("word", str(token))

    def group(self, *paths: Path) -> dict[str, Any]:
        return {"group_by": paths}

    def order(self, *keys: SortKey) -> dict[str, Any]:
        return {"order_by": keys}

    def sort(self, expr: Expr, direction: Token | None = None) -> SortKey:
        return SortKey(expr, direction is not None and str(direction).lower() == "desc")

    def limit_count(self, count: Token) -> dict[str, Any]:
        return {"limit": _whole(count)}

    def limit_pair(self, offset: Token, count: Token) -> dict[str, Any]:
        return {"offset": _whole(offset), "limit": _whole(count)}

    def limit_offset(self, count: Token, offset: Token) -> dict[str, Any]:
        return {"limit": _whole(count), "offset": _whole(offset)}


@lru_cache(maxsize=1)
def _parser() -> Lark:
    return Lark(GRAMMAR, parser="lalr", maybe_placeholders=False)


def parse(text: str) -> Query:
    """The query `text` says; `QuerySyntaxError` with the line, column and the text near the
    first thing the grammar does not accept (or the unsupported clause used)."""
    try:
        tree = _parser().parse(text)
    except UnexpectedInput as err:
        raise _syntax_error(err, text) from None
    if _count_conditions(tree) > MAX_CRITERIA:
        raise LimitExceeded("limit exceeded", {"clause": "where", "limit": MAX_CRITERIA})
    try:
        query: Query = _Tree().transform(tree)
    except VisitError as err:  # Lark wraps what a rule's callback raises
        if isinstance(err.orig_exc, CorralError):
            raise err.orig_exc from None
        raise
    return query


def _count_conditions(tree: Tree[Token]) -> int:
    """Comparisons in the parse tree, walked with a stack (no recursion)."""
    count, stack = 0, [tree]
    while stack:
        node = stack.pop()
        count += node.data in _CONDITIONS
        stack.extend(child for child in node.children if isinstance(child, Tree))
    return count


def _unsupported_word(text: str) -> str | None:
    """The first word of the query (as the grammar's lexer reads it) that names an SQL
    clause COQL lacks, e.g. `select distinct ...`; None when there is none."""
    try:
        for token in _parser().lex(text):
            if token.type == "NAME" and token.lower() in UNSUPPORTED_CLAUSES:
                return token.lower()
    except UnexpectedInput:  # text the lexer cannot read ends the search
        pass
    return None


def _syntax_error(err: UnexpectedInput, text: str) -> QuerySyntaxError:
    line = getattr(err, "line", None) or 1
    column = getattr(err, "column", None) or 1
    near = ""
    if isinstance(err, UnexpectedToken) and err.token.type != "$END":
        near = str(err.token)
    elif isinstance(err, UnexpectedCharacters):
        start = err.pos_in_stream or 0
        near = text[start:start + 1]
    elif isinstance(err, UnexpectedEOF) or (isinstance(err, UnexpectedToken)
                                            and err.token.type == "$END"):
        near = text.strip().split()[-1] if text.strip() else ""
        line = text.count("\n") + 1
        column = len(text.rsplit("\n", 1)[-1]) + 1
    clause = near.lower() if near.lower() in UNSUPPORTED_CLAUSES else _unsupported_word(text)
    if clause is not None:
        return QuerySyntaxError(f"{clause.upper()} is not supported in COQL", {"clause": clause})
    return QuerySyntaxError(PARSE_ERROR, {"near": near[:100], "line": line, "column": column})
