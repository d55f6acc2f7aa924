# jq builtins that jaq lacks or defines differently, over the block's value type.
def have_decnum: true;
def have_literal_numbers: true;
def toarray: if type == "array" then . else [.] end;
def input_line_number: 0;
def ascii: [.] | implode;
def significand: if . == 0 then 0 else frexp | .[0] * 2 end;
def trimstr($x): ltrimstr($x) | rtrimstr($x);
def splits($re): splits($re; null);
def splits($re; flags): split($re; flags) | .[];
def toboolean:
  if type == "boolean" then .
  elif . == "true" then true
  elif . == "false" then false
  else error("\(type) (\(tojson)) cannot be parsed as a boolean") end;
def limit($n; f): if $n > 0 then _limit($n; f) elif $n == 0 then empty else error("limit doesn't support negative count") end;
def skip($n; f): if $n < 0 then error("skip doesn't support negative count") else _skip($n; f) end;
def nth($n): .[$n];
def nth($n; f): if $n < 0 then error("nth doesn't support negative indices") else first(skip($n; f)) end;
def _flatten($depth): reduce .[] as $x ([]; if ($x | type) == "array" and $depth != 0 then . + ($x | _flatten($depth - 1)) else . + [$x] end);
def flatten($depth): if $depth < 0 then error("flatten depth must not be negative") else _flatten($depth) end;
def flatten: _flatten(-1);
def join($sep): reduce .[] as $x (null;
    (if . == null then "" else . + $sep end)
    + ($x | if . == null then "" elif type == "boolean" or type == "number" then tojson else . end)) // "";
def IN(s): any(s == .; .);
def IN(src; s): any(src == s; .);
def INDEX(stream; key): reduce stream as $row ({}; .[$row | key | tostring] |= $row);
def INDEX(key): INDEX(.[]; key);
def JOIN($idx; key): [.[] | [., $idx[key]]];
def JOIN($idx; stream; key): stream | [., $idx[key]];
def JOIN($idx; stream; key; join): stream | [., $idx[key]] | join;
def getpath($path):
  if ($path | type) != "array" then error("Path must be specified as an array")
  elif ($path | length) > 10000 then error("Path too deep")
  else reduce $path[] as $key (.; .[$key]) end;
def _setpath($path; $at; $value):
  if $at == ($path | length) then $value else .[$path[$at]] |= _setpath($path; $at + 1; $value) end;
def setpath($path; $value):
  if ($path | type) != "array" then error("Path must be specified as an array")
  elif ($path | length) > 10000 then error("Path too deep")
  else _setpath($path; 0; $value) end;
def del_key($key): .[$key] |= empty;
def _delpath($path):
  if $path == [] then null
  elif ($path | length) == 1 then del_key($path[0])
  elif .[$path[0]] == null then .
  else .[$path[0]] |= _delpath($path[1:]) end;
# jq deletes all the paths at once, as indices of the original arrays: a negative index counts
# from the end, a slice stands for each index it covers, and a NaN index is nothing.
def _slice_bound($n): if . < 0 then ([. + $n, 0] | max) else ([., $n] | min) end;
def _deletion_paths($path):
  if $path == [] then [$path] else
  $path[-1] as $last | $path[:-1] as $parent
  | (getpath($parent) | if type == "array" then length else null end) as $n
  | if $n == null then [$path]
    elif ($last | type) == "number" then
      if $last | isnan then []
      elif $last < 0 and $last + $n >= 0 then [$parent + [$last + $n | floor]]
      else [$parent + [$last | floor]] end
    elif ($last | type) == "object" then
      ($last.start // 0 | if isnan then 0 else floor end | _slice_bound($n)) as $from
      | ($last.end // $n | if isnan then $n else ceil end | _slice_bound($n)) as $to
      | [range($from; $to) | $parent + [.]]
    else [$path] end end;
def delpaths($paths):
  if ($paths | type) != "array" then error("Paths must be specified as an array")
  elif any($paths[]; length > 10000) then error("Path too deep")
  else reduce ([$paths[] as $path | _deletion_paths($path)[]] | unique | reverse[]) as $path (.; _delpath($path)) end;
def del(f): delpaths([path(f)]);
def pick(f): . as $top | reduce path(f) as $path (null; setpath($path; $top | getpath($path)));
def to_entries: [keys_unsorted[] as $k | {key: $k, value: .[$k]}];
def from_entries: reduce .[] as $x ({};
    . + { ($x | if type == "object" then (if has("key") then .key elif has("k") then .k elif has("name") then .name elif has("Name") then .Name elif has("Key") then .Key elif has("K") then .K else null end) else . end
          | if type == "string" then . elif type == "null" then "null" else tojson end):
          ($x | if has("value") then .value elif has("v") then .v elif has("Value") then .Value elif has("V") then .V else null end) });
def tostream: path(def r: (.[]? | r), .; r) as $p | getpath($p) | reduce path(.[]?) as $q ([$p, .]; [$p + $q]);
def fromstream(f): { x: null, e: false } as $init
  | foreach f as $i ($init;
      if .e then $init else . end
      | if $i | length == 2
        then setpath(["e"]; $i[0] | length == 0) | setpath(["x"] + $i[0]; $i[1])
        else setpath(["e"]; $i[0] | length == 1) end;
      if .e then .x else empty end);
def truncate_stream(stream): . as $n | null | stream | . as $input | if (.[0] | length) > $n then setpath([0]; .[0][$n:]) else empty end;
def @csv:
  if type != "array" then error("\(type) (\(tojson)) cannot be csv-formatted, only an array can be") else
  map(if type == "number" then tojson
      elif type == "string" then "\"" + (split("\"") | join("\"\"")) + "\""
      elif type == "boolean" then tojson
      elif . == null then ""
      else error("\(type) (\(tojson)) is not valid in a csv row") end) | join(",") end;
def @tsv:
  if type != "array" then error("\(type) (\(tojson)) cannot be tsv-formatted, only an array can be") else
  map(if type == "number" then tojson
      elif type == "string" then split("\\") | join("\\\\") | split("\t") | join("\\t") | split("\n") | join("\\n") | split("\r") | join("\\r")
      elif type == "boolean" then tojson
      elif . == null then ""
      else error("\(type) (\(tojson)) is not valid in a tsv row") end) | join("\t") end;
# jq formats a broken-down time as C's timegm normalises it (see the native `mktime`).
def _format_time($name; $fmt; format):
  if type != "number" and type != "array" then error("\($name) requires parsed datetime inputs")
  elif ($fmt | type) != "string" then error("\($name) requires a string format")
  elif type == "number" then format
  elif any(.[]; type != "number") then error("\($name) requires parsed datetime inputs")
  else mktime | gmtime | format end;
def strftime($fmt): _format_time("strftime/1"; $fmt; _strftime($fmt));
def strflocaltime($fmt): _format_time("strflocaltime/1"; $fmt; _strflocaltime($fmt));
