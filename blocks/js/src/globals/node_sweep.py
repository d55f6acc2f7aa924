# Writes node_sweep.json: expressions over many numbers, dates, option sets, date strings and
# collation inputs, each with the value Node 20 gives (TZ=UTC, as the guest runs). Rerun with
# `python3 node_sweep.py` beside this file; tests.rs checks our globals against every entry.
import json, pathlib, random, subprocess
random.seed(7)
L=["en-US","en-GB","de-DE","fr-FR","es-ES","it-IT","nl-NL"]
nums=[0.5,1.5,2.5,-2.5,0.125,1.005,1.255,99.995,123456.789,-987654321.12345,0.000123,1e-7,42,1000,10000,100000,1e15,123.0005,0.045,-0.0,0.9999,7.65e10,3.14159265]+[round(random.uniform(-1e6,1e6),random.randint(0,6)) for _ in range(20)]
opts=[{}, {"maximumFractionDigits":2}, {"minimumFractionDigits":2,"maximumFractionDigits":2}, {"style":"currency","currency":"EUR"}, {"style":"percent","minimumFractionDigits":1}, {"maximumFractionDigits":0}, {"minimumFractionDigits":4}]
exprs=[]
for l in L:
  for o in opts:
    exprs.append(f"{json.dumps(nums)}.map(n => n.toLocaleString({json.dumps(l)}, {json.dumps(o)}))")
dates=[(2024,0,1,0,0,0),(2023,11,31,23,59,59),(2000,1,29,12,0,0),(1999,6,4,9,5,3),(2024,8,15,18,30,0)]
dopts=[{}, {"dateStyle":"full"},{"dateStyle":"medium","timeStyle":"medium"},{"weekday":"short","month":"short","day":"numeric"},{"hour":"numeric"},{"hour":"2-digit","minute":"2-digit","second":"2-digit"},{"month":"long","day":"numeric"},{"year":"2-digit","month":"short"},{"timeStyle":"short","hour12":True},{"month":"2-digit","day":"2-digit"}]
for l in L:
  for o in dopts:
    exprs.append(f"{json.dumps(dates)}.map(a => new Date(Date.UTC(...a)).toLocaleString({json.dumps(l)}, {json.dumps(o)}))")
parse=["2024-03-15 10:30","Sat Mar 16 2024","16 March 2024 08:00 GMT","March 16 2024","Mar 16, 24","2024-03-16 10:30:00 +0100","Tue, 1 Oct 2024 00:00:00 +0000","October 1, 2024 9:15 am","1 Oct 2024 9:15 PM UTC","10/01/2024","2024.10.01","2024-10-01 10:00 GMT+2","20 Jun 1999 12:00:00 EST","Jun 20 1999 noon","2024-02-30 10:00","Thursday, March 21, 2024","21-Mar-2024","2024-3-21","2024-03-21T10:30","2024-03-21 10:30:00.5","March 2024","12:00 2024-01-01"]
exprs += [f"(() => {{ const t = Date.parse({json.dumps(s)}); return [{json.dumps(s)}, Number.isNaN(t) ? null : t]; }})()" for s in parse]
cmp=["a","A","á","Á","b","B","ä","ae","Ä","z","Z","1","2","10","a1","a10","a2"," ","-","_","ß","ss","e","é","è","ê","ñ","n","o","ç","c"]
for l in ["en-US","de-DE","es-ES","fr-FR"]:
  for o in [{}, {"sensitivity":"base"},{"sensitivity":"accent"},{"sensitivity":"case"},{"numeric":True}]:
    exprs.append(f"{json.dumps(cmp)}.slice().sort(new Intl.Collator({json.dumps(l)}, {json.dumps(o)}).compare).join('|')")
    if l == "en-US":
      exprs.append(f"{json.dumps(cmp)}.map(x => {json.dumps(cmp)}.map(y => x.localeCompare(y, {json.dumps(l)}, {json.dumps(o)})).join('')).join(' ')")
js="const out=[];for(const src of %s){let v;try{v=eval(src)}catch(e){v='throws '+e.name+': '+e.message}out.push([src, v===undefined?null:v])}console.log(JSON.stringify(out))" % json.dumps(exprs)
res=subprocess.run(["node","-e",js],capture_output=True,text=True,env={"TZ":"UTC","PATH":"/usr/bin:/bin"},check=True).stdout
pathlib.Path(__file__).with_name("node_sweep.json").write_text(json.dumps(json.loads(res), ensure_ascii=True, indent=0) + "\n")
