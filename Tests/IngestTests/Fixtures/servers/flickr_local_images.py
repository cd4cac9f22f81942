#!/usr/bin/env python3
"""flickr_server.py with its photos' images on a local server, for the export tests and the
pipeline benchmark (scripts/bench-pipeline.sh). Standard library only.

Usage: flickr_local_images.py --image-base URL [--all-terms] [flickr_server.py options...]
  --image-base URL  every photo's url_l is URL/<photo id>.jpg (all available), instead of a
                    live.staticflickr.com address
  --all-terms       every photo carries all of flickr_server.py's terms, so a search for one
                    term finds all --photos N photos
Everything else (options, endpoints, the port printed on stdout) is flickr_server.py's.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import flickr_server  # noqa: E402

ap = argparse.ArgumentParser(add_help=False)
ap.add_argument("--image-base", required=True)
ap.add_argument("--all-terms", action="store_true")
ours, rest = ap.parse_known_args()
image_base = ours.image_base.rstrip("/")

make_dataset = flickr_server.make_dataset
photo_json = flickr_server.photo_json


def dataset(*args, **kwargs):
    photos = make_dataset(*args, **kwargs)
    if ours.all_terms:
        for p in photos:
            p["terms"] = [t for t, _ in flickr_server.TERMS]
    return photos


def local_photo_json(p, *args, **kwargs):
    d = photo_json(p, *args, **kwargs)
    if "url_l" in d:
        d["url_l"] = "%s/%s.jpg" % (image_base, p["id"])
    return d


flickr_server.make_dataset = dataset
flickr_server.photo_json = local_photo_json
sys.argv = [sys.argv[0]] + rest
flickr_server.main()
