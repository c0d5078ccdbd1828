#!/usr/bin/env python3
"""Compares two smoke_outputs.sh collections: metrics.csv byte for byte, other CSVs cell by cell
except wall-clock columns (seconds, per-second rates)."""
import csv,sys,os
a,b=sys.argv[1],sys.argv[2]
bad=0; n=0
for root,_,files in os.walk(a):
    for f in files:
        pa=os.path.join(root,f); pb=pa.replace(a,b,1)
        if not os.path.exists(pb): print("missing",pb); bad+=1; continue
        n+=1
        if f=='metrics.csv':
            if open(pa,'rb').read()!=open(pb,'rb').read(): print("DIFF",pa); bad+=1
        else:
            ra=list(csv.DictReader(open(pa))); rb=list(csv.DictReader(open(pb)))
            timing=lambda k: 'second' in k or 'per_sec' in k or k.endswith('_s') or 'time' in k
            for x,y in zip(ra,rb):
                for k in x:
                    if timing(k): continue
                    if x.get(k)!=y.get(k): print("DIFF",pa,k,x.get(k),y.get(k)); bad+=1
            if len(ra)!=len(rb) or (ra and set(ra[0])!=set(rb[0])): print("SHAPE",pa); bad+=1
print(f"{n} files compared, {bad} differences")
sys.exit(1 if bad else 0)
