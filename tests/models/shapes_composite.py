"""Composite document ids, composite join keys and joins onto entities.

- ``shelf``: a shelf keyed by ``(warehouse S, shelf_no N)``: the document id has two parts. Its
  bins are children with ``parent=("warehouse", "shelf")`` (two non-key attributes, the second a
  number: bins move between shelves); its notes are children whose parent is half key
  (``warehouse``, the notes' hash key) and half not (``shelf``). Each bin joins a catalog part
  through a composite pointer ``on={"vendor_ref": "vendor", "part_ref": "part_no"}`` (an index
  keyed by both) and a label that is an ``Entity`` told apart by a non-key attribute
  (``kind="label"``: a label can stop being one). The shelf joins its zone, an ``Entity`` of a
  single-table design pinned by its sort key (``sk="ZONE"``, so ``on`` names only ``pk``). No
  ``derive``: the default document shows the composite joins as objects.
- ``part``: a catalog part keyed by ``(vendor S, part_no N)`` (versioned), with the bins that point
  at it as children (``parent=("vendor_ref", "part_ref")``: the pointing attributes of the join
  above are the parent attributes here); ``derive`` sums over them.
"""

from dynafold import Aggregate, Children, Entity, Join, Model, Table
from dynafold.kinds import boolean, decimal, integer, keyword, keywords, text

shelves = Table("shelves", "warehouse", "shelf_no", types={"shelf_no": "N"}, indexes={"by_zone": "zone"})
bins = Table("bins", "bin_id", types={"shelf": "N", "part_ref": "N"},
             indexes={"by_part": ("vendor_ref", "part_ref"), "by_label": "label_ref"})
notes = Table("shelf_notes", "warehouse", "note_id", types={"shelf": "N"})
catalog = Table("catalog", "vendor", "part_no", types={"part_no": "N"}, version="version")
meta = Table("meta", "pk", "sk")
labels = Table("labels", "label_id")

SHELF = Aggregate(
    "shelf",
    root=shelves,
    fields=dict(warehouse=keyword, shelf_no=keyword, capacity=integer, zone=keyword),
    joins={"zone_info": Join(Entity(meta, sk="ZONE"), on="zone", index="by_zone",
                             fields=dict(title=text, cold=boolean))},
    children={
        "bins": Children(bins, parent=("warehouse", "shelf"), fields=dict(bin_id=keyword, count=integer),
                         joins={
                             "part": Join(catalog, on={"vendor_ref": "vendor", "part_ref": "part_no"},
                                          index="by_part", fields=dict(name=text, weight=decimal)),
                             "label": Join(Entity(labels, kind="label"), on="label_ref", index="by_label",
                                           fields=dict(text=text)),
                         }),
        "notes": Children(notes, parent=("warehouse", "shelf"), fields=dict(note_id=keyword, body=text)),
    },
)


def derive_part(part) -> dict:
    counts = [b.count for b in part.bins if b.count is not None]
    return {
        "bin_count": len(part.bins),
        "stock": sum(counts),
        "bins_at": sorted({f"{b.warehouse}/{b.shelf}" for b in part.bins if b.warehouse is not None}),
    }


PART = Aggregate(
    "part",
    root=catalog,
    fields=dict(vendor=keyword, part_no=keyword, name=text, weight=decimal),
    children={"bins": Children(bins, parent=("vendor_ref", "part_ref"),
                               fields=dict(bin_id=keyword, count=integer, warehouse=keyword, shelf=keyword))},
    derive=derive_part,
    derived=dict(bin_count=integer, stock=integer, bins_at=keywords),
)

MODEL = Model([SHELF, PART])
