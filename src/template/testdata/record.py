#!/usr/bin/env python3
"""Re-records ansible_2_19.json: runs every expression of the file through ansible-playbook
(render cases as `debug: msg=...`, condition cases as `when:`) and stores Ansible's results.

Usage: python3 record.py [/path/to/ansible-playbook]   (default /opt/ansible-venv/bin/ansible-playbook)
Needs PyYAML (shipped with ansible-core)."""
import json, os, subprocess, sys, tempfile

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURE = os.path.join(HERE, "ansible_2_19.json")
PLAYBOOK = sys.argv[1] if len(sys.argv) > 1 else "/opt/ansible-venv/bin/ansible-playbook"

data = json.load(open(FIXTURE))
with tempfile.TemporaryDirectory() as tmp:
    for group in data["groups"]:
        tasks = []
        for i, case in enumerate(group["cases"]):
            if case["kind"] == "condition":
                task = {"debug": {"msg": "x"}, "when": case["expr"]}
            else:
                task = {"debug": {"msg": case["expr"]}}
            task.update({"ignore_errors": True, "register": f"r{i}"})
            tasks.append(task)
        out = os.path.join(tmp, "results.json")
        names = ",".join(f"r{i}" for i in range(len(group["cases"])))
        tasks.append({"copy": {"content": "{{ [" + names + "] | to_json }}", "dest": out}})
        play = [{"hosts": "localhost", "gather_facts": False, "vars": group["vars"], "tasks": tasks}]
        pb = os.path.join(tmp, "pb.yml")
        with open(pb, "w") as f:
            yaml.safe_dump(play, f, width=1000)
        subprocess.run([PLAYBOOK, pb], check=True, stdout=subprocess.DEVNULL)
        for case, result in zip(group["cases"], json.load(open(out))):
            case.pop("value", None)
            case.pop("error", None)
            if result.get("failed"):
                case["error"] = True
            elif case["kind"] == "condition":
                case["value"] = not result.get("skipped", False)
            else:
                case["value"] = result.get("msg")
with open(FIXTURE, "w") as f:
    json.dump(data, f, indent=1, ensure_ascii=False)
print(f"recorded {sum(len(g['cases']) for g in data['groups'])} cases")
