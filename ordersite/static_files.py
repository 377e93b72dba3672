"""WhiteNoise's middleware, able to sit in an asynchronous middleware chain.

Under ASGI one synchronous-only middleware makes Django call everything below it, the view included, from a thread:
an asynchronous view (GET /orders/{id}/status?wait=N) would then hold that thread for its whole wait. This one
answers for static files as WhiteNoise does and hands every other request on without leaving the event loop.
"""

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from whitenoise.middleware import WhiteNoiseMiddleware


class StaticFilesMiddleware(WhiteNoiseMiddleware):
    sync_capable = True
    async_capable = True

    def __init__(self, get_response=None, **kwargs):
        super().__init__(get_response, **kwargs)
        self.async_mode = iscoroutinefunction(get_response)
        if self.async_mode:
            markcoroutinefunction(self)

    def __call__(self, request):
        if self.async_mode:
            return self.__acall__(request)
        return super().__call__(request)

    async def __acall__(self, request):
        if self.autorefresh:  # DEBUG: looked up on disk for every request
            static_file = await sync_to_async(self.find_file)(request.path_info)
        else:
            static_file = self.files.get(request.path_info)
        if static_file is None:
            return await self.get_response(request)
        response = await sync_to_async(self.serve)(static_file, request)
        if response.streaming:  # the file is read in the request's thread, never on the event loop
            response.streaming_content = _read_in_thread(response.streaming_content)
        return response


async def _read_in_thread(chunks):
    read = sync_to_async(next)
    while (chunk := await read(chunks, None)) is not None:
        yield chunk
