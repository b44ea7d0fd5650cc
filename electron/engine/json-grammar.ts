// A GBNF grammar for any JSON object (response_format json_object). Written here rather than loaded from
// llama.cpp's grammars folder, which exists only in an extracted source tree (not in a packaged app).
// Whitespace runs are bounded so a constrained model cannot pad forever.
export const jsonObjectGrammar = String.raw`
root   ::= object
value  ::= object | array | string | number | "true" | "false" | "null"
object ::= "{" ws ( string ":" ws value ( "," ws string ":" ws value )* )? "}"
array  ::= "[" ws ( value ws ( "," ws value ws )* )? "]"
string ::= "\"" ( [^"\\\x7F\x00-\x1F] | "\\" ( ["\\/bfnrt] | "u" [0-9a-fA-F]{4} ) )* "\"" ws
number ::= "-"? ( "0" | [1-9] [0-9]{0,15} ) ( "." [0-9]{1,15} )? ( [eE] [-+]? [0-9]{1,3} )? ws
ws     ::= [ \t\n]{0,4}
`;
