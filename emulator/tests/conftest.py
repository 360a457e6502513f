import itertools
import os

import pytest
from google.api_core.client_options import ClientOptions
from google.auth.credentials import AnonymousCredentials
from google.cloud import run_v2

from emulator.testing import EmulatorProcess

APPS = os.path.join(os.path.dirname(__file__), "apps")
ECHO_IMAGE = "europe-west1-docker.pkg.dev/demo-project/apps/echo:v1"
PARENT = "projects/demo-project/locations/europe-west1"
_names = itertools.count(1)


def clients_for(endpoint):
    options = ClientOptions(api_endpoint=endpoint)
    kwargs = {"credentials": AnonymousCredentials(), "transport": "rest", "client_options": options}
    return run_v2.ServicesClient(**kwargs), run_v2.RevisionsClient(**kwargs)


@pytest.fixture(scope="session")
def emulator():
    with EmulatorProcess(images={ECHO_IMAGE: os.path.join(APPS, "echo")}, startup_timeout=8) as emu:
        yield emu


@pytest.fixture(name="services")
def services_client(emulator):
    return clients_for(emulator.endpoint)[0]


@pytest.fixture(name="revisions")
def revisions_client(emulator):
    return clients_for(emulator.endpoint)[1]


@pytest.fixture
def service_id(request):
    """A fresh service name for each test; the service is deleted afterwards."""
    name = f"t{next(_names)}-{request.node.name.split('[')[0][5:][:20].replace('_', '-')}".rstrip("-")
    yield name
    client = clients_for(request.getfixturevalue("emulator").endpoint)[0]
    try:
        client.delete_service(name=f"{PARENT}/services/{name}").result(timeout=30)
    except Exception:  # pylint: disable=broad-except
        pass


def echo_service(env=None, image=ECHO_IMAGE, **template):
    container = run_v2.Container(image=image, env=[run_v2.EnvVar(name=k, value=v) for k, v in (env or {}).items()])
    return run_v2.Service(template=run_v2.RevisionTemplate(containers=[container], **template))
