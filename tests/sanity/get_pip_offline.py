"""Stand-in for ansible-test's pip bootstrap script (get-pip.py).

ansible-test downloads get-pip.py from ci-files.testing.ansible.com, which CI machines
here cannot reach; its error says to save the script to ~/.ansible/test/cache by hand.
`make sanity` saves this file there instead: it installs pip with the interpreter's own
ensurepip, then the requested pip version from the package index, with the same arguments.
"""

import subprocess
import sys

subprocess.check_call([sys.executable, "-m", "ensurepip", "--default-pip"], stdout=subprocess.DEVNULL)
args = [arg for arg in sys.argv[1:] if arg not in ("--no-setuptools", "--no-wheel")]
subprocess.check_call([sys.executable, "-m", "pip", "install"] + args)
