"""Answers of a careful model to catalog-sync's LLM prompts, for the fake
OpenAI-compatible server (FakeLLM(answer=catalog_answer)): describe_llm
prompts get one sentence per column that names the column and the table
and says something more, pii_vote_llm prompts a vote from the column name.
Built from the prompt's names only, never from its values."""
import re

from openai import column_names, table_name

# The PII vote of the chat fake, from column names only.  Names of people
# get no vote on purpose: with vote=both the recognizers' PERSON_NAME tag
# is then held back, and mask must still hide the names.
VOTES = [(r"e_?mail", "EMAIL"), (r"phone", "PHONE"), (r"iban", "IBAN"),
         (r"card_number", "CREDIT_CARD"), (r"birth", "DATE_OF_BIRTH"),
         (r"postcode", "POSTCODE"), (r"^address$", "ADDRESS")]


def _vote(name):
    for pattern, entity in VOTES:
        if re.search(pattern, name):
            return entity
    return None


def catalog_answer(body):
    """A schema-valid answer to describe_llm and pii_vote_llm prompts."""
    rf = body.get("response_format") or {}
    schema = (rf.get("json_schema") or {}).get("schema") or {}
    props = schema.get("properties") or {}
    prompt = "\n".join(m.get("content", "") for m in body["messages"])
    cols = column_names(prompt)
    table = table_name(prompt).split(".")[-1]
    if "table" in props:
        return {"table": f"Operational records of {table} kept by the business, "
                         "one row per item.",
                "confidence": "high",
                "columns": [{"name": c, "description": f"Attribute {c} recorded for each "
                             f"{table} entry."} for c in cols]}
    item = ((props.get("columns") or {}).get("items") or {}).get("properties") or {}
    if "entity" in item:
        return {"columns": [{"name": c, "entity": _vote(c),
                             "confidence": 0.9 if _vote(c) else 0.1} for c in cols]}
    return None
