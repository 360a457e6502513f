"""A local stand-in for the Google Cloud APIs that nadle.cloudrun talks to.

It speaks the REST shapes of the Cloud Run Admin API v2 through the official
``google.cloud.run_v2`` types, runs each revision as a local process and serves
every service and traffic tag on a real local URL. Not shipped in the collection.
"""
