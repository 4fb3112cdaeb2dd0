"""What a volume's consumer does, without Nova or os-brick: the first use
of a lazily created volume makes its backing."""

from tests.e2e import waiting

# A connector naming no instance: initialize_connection makes the backing
# (when there is none yet) and connects nothing.
CONNECTOR = {'host': 'e2e-client', 'ip': '127.0.0.1',
             'platform': 'x86_64', 'os_type': 'linux'}


def first_use(cinder, volume):
    """An attachment (reserve + initialize_connection), then its removal;
    returns the volume once available again."""
    attachment = cinder.attachments.create(volume.id, CONNECTOR)
    cinder.attachments.delete(attachment['id'])
    return waiting.wait_status(cinder.volumes, volume, 'available')
