/*
 * parser.y — the grammar of .act files (docs/language.md §2).  A pure
 * (reentrant) bison parser over the flex scanner in lexer.l.  Actions are one
 * line and call constructors in compiler/front/ast.c; no semantic checks
 * happen here (they belong to check.c).  Syntax errors are reported in
 * clang's format through yyreport_syntax_error; recovery resumes at the next
 * newline or ';', so one run reports several errors (at most DIAG_MAX_ERRORS).
 */
%require "3.8"
%define api.pure full
%define api.prefix {actc_yy}
%define api.location.type {Span}
%define parse.error custom
%define parse.lac full
%locations
%expect 0
%lex-param   {yyscan_t scanner}
%parse-param {yyscan_t scanner} {Parser *p}

%code requires {
#include "front/front.h"
#ifndef YY_TYPEDEF_YY_SCANNER_T
# define YY_TYPEDEF_YY_SCANNER_T
typedef void *yyscan_t;
#endif
/* A custom location type: cover RHS 1..N, or an empty span at the end of the
 * previous symbol. */
#define YYLLOC_DEFAULT(Cur, Rhs, N)                                            \
  do {                                                                         \
    if (N) { (Cur) = YYRHSLOC(Rhs, 1); (Cur).end = YYRHSLOC(Rhs, N).end; }     \
    else   { (Cur) = YYRHSLOC(Rhs, 0); (Cur).start = (Cur).end; }              \
  } while (0)
}

%code provides {
int actc_yylex(ACTC_YYSTYPE *lval, Span *lloc, yyscan_t scanner);
void actc_yyerror(Span *loc, yyscan_t scanner, Parser *p, const char *msg);
}

%code {
#include <stdio.h>
#include <string.h>
#include "parse_glue.h"
void *parse_stack_alloc(size_t size);
void parse_stack_free(void *p);
#define YYMALLOC parse_stack_alloc
#define YYFREE parse_stack_free
#define SYNTAX_RECOVERED() do { yyerrok; if (diag_full(&p->s->diag)) { p->s->diag.too_many = true; YYABORT; } } while (0)
}

%initial-action { @$ = (Span){ .file = p->file, .start = 0, .end = 0 }; }

%union {
    Expr *expr;
    Decl *decl;
    Stmt *stmt;
    TypeExpr *type;
    Name name;
}

%token CONST "'const'" ACTIVATION "'activation'" GATE "'gate'" MODEL "'model'" BLOCK "'block'"
%token RETURN "'return'" TRUE "'true'" FALSE "'false'" FOR "'for'" IN "'in'"
%token <name> IDENT "identifier"
%token <name> QUALIFIED "qualified name"
%token <name> NUMBER "number"
%token <name> STRING "string"
%token NEWLINE "newline"
%token ARROW "'->'" EQEQ "'=='" NE "'!='" LE "'<='" GE "'>='" DOTDOT "'..'"
%token POW "'**'"

%type <expr> expr primary args arglist
%type <decl> item const_decl func_decl model_decl params paramlist ports outputs body block
%type <decl> block_decl bparams
%type <stmt> stmt targets exprlist
%type <type> type dims

%nonassoc '<' '>' LE GE EQEQ NE
%left '+' '-'
%left '*' '/'
%precedence UMINUS
%right POW /* Python's: -x ** 2 is -(x ** 2), 2 ** 3 ** 2 is 2 ** 9 */

%%

program
    : items
    ;

items
    : %empty
    | items item            { ast_program_add(p, $2); }
    | items end
    | items error end       { SYNTAX_RECOVERED(); }
    ;

end : NEWLINE | ';' ;

item
    : const_decl end        { $$ = $1; }
    | func_decl end         { $$ = $1; }
    | model_decl end        { $$ = $1; }
    | block_decl end        { $$ = $1; }
    ;

const_decl
    : CONST IDENT '=' expr  { $$ = ast_const(p, @$, $2, $4); }
    ;

func_decl
    : ACTIVATION IDENT '(' params ')' '=' expr  { $$ = ast_func(p, @$, DECL_ACT, $2, $4, $7); }
    | GATE IDENT '(' params ')' '=' expr        { $$ = ast_func(p, @$, DECL_GATE, $2, $4, $7); }
    ;

params
    : %empty                { $$ = ast_params_new(p); }
    | paramlist opt_comma   { $$ = $1; }
    ;

paramlist
    : IDENT                          { $$ = ast_params_add(p, ast_params_new(p), $1, NULL); }
    | IDENT '=' expr                 { $$ = ast_params_add(p, ast_params_new(p), $1, $3); }
    | paramlist ',' IDENT            { $$ = ast_params_add(p, $1, $3, NULL); }
    | paramlist ',' IDENT '=' expr   { $$ = ast_params_add(p, $1, $3, $5); }
    ;

opt_comma : %empty | ',' ;

model_decl
    : MODEL IDENT '(' ports ')' ARROW outputs opt_newlines '{' block '}'
                            { $$ = ast_model(p, @$, $2, $4, $7, $10); }
    | MODEL error '{' block '}'
                            { $$ = NULL; SYNTAX_RECOVERED(); }
    ;

block_decl
    : BLOCK IDENT '(' bparams ')' ARROW outputs opt_newlines '{' block '}'
                            { $$ = ast_block(p, @$, $2, $4, $7, $10); }
    | BLOCK error '{' block '}'
                            { $$ = NULL; SYNTAX_RECOVERED(); }
    ;

bparams
    : IDENT ':' type                 { $$ = ast_ports_add(p, ast_ports_new(p), $1, $3); }
    | IDENT '=' expr                 { $$ = ast_params_add(p, ast_ports_new(p), $1, $3); }
    | bparams ',' IDENT ':' type     { $$ = ast_ports_add(p, $1, $3, $5); }
    | bparams ',' IDENT '=' expr     { $$ = ast_params_add(p, $1, $3, $5); }
    ;

block
    : body
    | body stmt             { $$ = ast_body_add(p, $1, $2); }
    ;

opt_newlines : %empty | opt_newlines NEWLINE ;

ports
    : IDENT ':' type              { $$ = ast_ports_add(p, ast_ports_new(p), $1, $3); }
    | ports ',' IDENT ':' type    { $$ = ast_ports_add(p, $1, $3, $5); }
    ;

outputs
    : type                  { $$ = ast_outputs_single(p, @$, $1); }
    | '(' ports ')'         { $$ = ast_outputs_named(p, @$, $2); }
    ;

type
    : IDENT '[' dims ']'    { $$ = ast_type(p, @$, $1, $3); }
    ;

dims
    : expr                  { $$ = ast_dims_add(p, ast_dims_new(p), $1); }
    | dims ',' expr         { $$ = ast_dims_add(p, $1, $3); }
    ;

body
    : %empty                { $$ = ast_body_new(p); }
    | body stmt end         { $$ = ast_body_add(p, $1, $2); }
    | body end              { $$ = $1; }
    | body error end        { $$ = $1; SYNTAX_RECOVERED(); }
    ;

stmt
    : targets '=' expr      { $$ = ast_assign(p, @$, $1, $3); }
    | RETURN exprlist       { $$ = ast_return(p, @$, $2); }
    | FOR IDENT IN expr DOTDOT expr opt_newlines '{' block '}'
                            { $$ = ast_for(p, @$, $2, $4, $6, $9); }
    ;

targets
    : IDENT                 { $$ = ast_targets_new(p, $1); }
    | targets ',' IDENT     { $$ = ast_targets_add(p, $1, $3); }
    ;

exprlist
    : expr                  { $$ = ast_values_new(p, $1); }
    | exprlist ',' expr     { $$ = ast_values_add(p, $1, $3); }
    ;

expr
    : primary
    | '-' expr %prec UMINUS { $$ = ast_neg(p, @$, $2); }
    | expr '+' expr         { $$ = ast_bin(p, @$, BIN_ADD, $1, $3); }
    | expr '-' expr         { $$ = ast_bin(p, @$, BIN_SUB, $1, $3); }
    | expr '*' expr         { $$ = ast_bin(p, @$, BIN_MUL, $1, $3); }
    | expr '/' expr         { $$ = ast_bin(p, @$, BIN_DIV, $1, $3); }
    | expr '<' expr         { $$ = ast_bin(p, @$, BIN_LT, $1, $3); }
    | expr '>' expr         { $$ = ast_bin(p, @$, BIN_GT, $1, $3); }
    | expr LE expr          { $$ = ast_bin(p, @$, BIN_LE, $1, $3); }
    | expr GE expr          { $$ = ast_bin(p, @$, BIN_GE, $1, $3); }
    | expr EQEQ expr        { $$ = ast_bin(p, @$, BIN_EQ, $1, $3); }
    | expr NE expr          { $$ = ast_bin(p, @$, BIN_NE, $1, $3); }
    | expr POW expr         { $$ = habit_power(p, @$, @2, $1, $3); }
    ;

primary
    : NUMBER                { $$ = ast_num(p, @$, $1.name, strlen($1.name)); }
    | STRING                { $$ = ast_str(p, @$, $1.name, strlen($1.name)); }
    | TRUE                  { $$ = ast_bool(p, @$, true); }
    | FALSE                 { $$ = ast_bool(p, @$, false); }
    | IDENT                 { $$ = ast_name(p, @$, $1.name); }
    | IDENT '(' args ')'    { $$ = ast_call(p, @$, $1, $3); }
    | QUALIFIED             { $$ = ast_name(p, @$, $1.name); }
    | QUALIFIED '(' args ')' { $$ = ast_call(p, @$, $1, $3); }
    | '(' expr ')'          { $$ = $2; }
    ;

args
    : %empty                { $$ = ast_args_new(p); }
    | arglist opt_comma     { $$ = $1; }
    ;

arglist
    : expr                        { $$ = ast_args_add(p, ast_args_new(p), @1, NULL, $1); }
    | IDENT '=' expr              { $$ = ast_args_add(p, ast_args_new(p), @$, &$1, $3); }
    | arglist ',' expr            { $$ = ast_args_add(p, $1, @3, NULL, $3); }
    | arglist ',' IDENT '=' expr  { $$ = ast_args_add(p, $1, (Span){@3.file, @3.start, @5.end}, &$3, $5); }
    ;

%%

/* Display name of a grammar symbol: aliases are written as they should read. */
static const char *symbol_display(yysymbol_kind_t k, char *buf, size_t n) {
    const char *s = yysymbol_name(k);
    size_t len = strlen(s);
    if (len >= 2 && s[0] == '"' && s[len - 1] == '"') {
        snprintf(buf, n, "%.*s", (int)(len - 2), s + 1);
        return buf;
    }
    return s;
}

/* Binary operators, by display name (symbol numbers are bison's business). */
static bool is_operator(yysymbol_kind_t k) {
    static const char *const ops[] = {"'+'", "'-'", "'*'", "'/'", "'<'", "'>'",
                                      "'<='", "'>='", "'=='", "'!='", "'**'"};
    const char *name = yysymbol_name(k);
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        if (strcmp(name, ops[i]) == 0)
            return true;
    return false;
}

/* True if the expected set is "anything that starts an expression". */
static bool expects_expression(const yysymbol_kind_t *exp, int n) {
    bool id = false, num = false;
    for (int i = 0; i < n; i++) {
        id |= exp[i] == YYSYMBOL_IDENT;
        num |= exp[i] == YYSYMBOL_NUMBER;
    }
    return id && num;
}

/* clang-style syntax errors: "expected A, B or C; saw X". */
static int yyreport_syntax_error(const yypcontext_t *ctx, yyscan_t scanner, Parser *p) {
    (void)scanner;
    enum { NEXP = 48 };
    yysymbol_kind_t exp[NEXP];
    int nexp = yypcontext_expected_tokens(ctx, exp, NEXP);
    yysymbol_kind_t tok = yypcontext_token(ctx);
    Span loc = *yypcontext_location(ctx);
    char buf[64];
    StrBuf sb;
    sb_init(&sb, &p->s->perm);
    if (is_operator(tok) && strlen(yysymbol_name(tok)) >= 3 &&
        strchr("<>=!", yysymbol_name(tok)[1])) {
        /* comparisons are non-associative: the only way to see one here */
        parse_syntax_error(p, loc, "comparisons cannot be chained; nest them with where()");
        return 0;
    }
    if (tok == YYSYMBOL_YYEOF && p->braces > 0) {
        parse_syntax_error(p, loc, "expected '}', saw end of file");
        return 0;
    }
    if (nexp > 0 && expects_expression(exp, nexp)) {
        sb_puts(&sb, "expected an expression");
    } else if (nexp > 0 && nexp < NEXP) {
        /* Binary operators are always possible after an operand: list the
         * other choices, which are what the user most likely forgot. */
        yysymbol_kind_t keep[NEXP];
        int nkeep = 0;
        for (int i = 0; i < nexp; i++)
            if (!is_operator(exp[i]))
                keep[nkeep++] = exp[i];
        if (nkeep == 0 || nkeep > 5) {
            sb_puts(&sb, nkeep == 0 ? "expected an operator" : "unexpected input");
        } else {
            sb_puts(&sb, "expected ");
            for (int i = 0; i < nkeep; i++) {
                if (i)
                    sb_puts(&sb, i == nkeep - 1 ? " or " : ", ");
                sb_puts(&sb, keep[i] == YYSYMBOL_YYEOF ? "end of file"
                                                        : symbol_display(keep[i], buf, sizeof buf));
            }
        }
    } else {
        sb_puts(&sb, "unexpected input");
    }
    sb_puts(&sb, ", saw ");
    if (tok == YYSYMBOL_YYEOF) {
        sb_puts(&sb, "end of file");
    } else {
        sb_puts(&sb, symbol_display(tok, buf, sizeof buf));
        if ((tok == YYSYMBOL_IDENT || tok == YYSYMBOL_QUALIFIED || tok == YYSYMBOL_NUMBER) && loc.end > loc.start &&
            loc.end - loc.start <= 40)
            sb_printf(&sb, " '%.*s'", (int)(loc.end - loc.start), p->src->text + loc.start);
    }
    parse_syntax_error(p, loc, sb_str(&sb));
    return 0;
}
