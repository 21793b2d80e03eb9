/* rm_api.c - resolve the module API functions by name (see rm_api.h). */
#include "rm_api.h"

struct rm_api rm;

#define ENTRY(name) {"RedisModule_" #name, (void **)&rm.name}

int rm_api_load(RedisModuleCtx *ctx, const char **missing)
{
    static const struct {
        const char *name;
        void **slot;
    } table[] = {
        ENTRY(SetModuleAttribs), ENTRY(IsModuleNameBusy), ENTRY(CreateCommand), ENTRY(Log),
        ENTRY(StringPtrLen), ENTRY(CreateString), ENTRY(FreeString), ENTRY(OpenKey),
        ENTRY(CloseKey), ENTRY(KeyType), ENTRY(StringDMA), ENTRY(StringSet), ENTRY(DeleteKey),
        ENTRY(SetExpire), ENTRY(GetExpire), ENTRY(StringTruncate), ENTRY(Call), ENTRY(CallReplyProto), ENTRY(FreeCallReply),
        ENTRY(GetDetachedThreadSafeContext), ENTRY(FreeThreadSafeContext),
        ENTRY(ThreadSafeContextLock), ENTRY(ThreadSafeContextUnlock), ENTRY(ReplyWithArray),
        ENTRY(ReplyWithLongLong), ENTRY(ReplyWithSimpleString), ENTRY(ReplyWithStringBuffer),
        ENTRY(ReplyWithError), ENTRY(WrongArity), ENTRY(EventLoopAdd), ENTRY(EventLoopDel),
        ENTRY(SubscribeToServerEvent), ENTRY(CallReplyType), ENTRY(CallReplyLength),
        ENTRY(CallReplyArrayElement), ENTRY(CallReplyStringPtr), ENTRY(GetModuleUserFromUserName),
        ENTRY(FreeModuleUser), ENTRY(ACLCheckCommandPermissions), ENTRY(ACLCheckKeyPermissions),
        ENTRY(AuthenticateClientWithACLUser), ENTRY(RegisterCommandFilter), ENTRY(CommandFilterArgsCount),
        ENTRY(CommandFilterArgGet), ENTRY(GetContextFlags), ENTRY(GetServerVersion),
        ENTRY(GetUsedMemoryRatio), ENTRY(Milliseconds), ENTRY(GetCommandKeysWithFlags), ENTRY(KeyExists),
        ENTRY(Free), ENTRY(Replicate), ENTRY(AvoidReplicaTraffic),
    };
    /* The context's first word is Redis's lookup function. */
    int (*get_api)(const char *, void *) = (int (*)(const char *, void *))((void **)ctx)[0];
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        if (get_api(table[i].name, table[i].slot) != RM_OK || !*table[i].slot) {
            *missing = table[i].name;
            return -1;
        }
    }
    return 0;
}
