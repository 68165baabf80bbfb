/* SPDX-License-Identifier: BSD-3-Clause */
/* S3's error codes (s3err.h). */
#include "s3err.h"

static const struct {
	const char *code, *message;
	int status;
} table[OBJ_ERR_COUNT] = {
	[OBJ_OK] = { "", "", 200 },
	[OBJ_ERR_INVALID_URI] = { "InvalidURI", "Couldn't parse the specified URI.", 400 },
	[OBJ_ERR_INVALID_BUCKET_NAME] = { "InvalidBucketName",
		"The specified bucket is not valid.", 400 },
	[OBJ_ERR_KEY_TOO_LONG] = { "KeyTooLongError", "Your key is too long", 400 },
	[OBJ_ERR_INVALID_ARGUMENT] = { "InvalidArgument", "Invalid Argument", 400 },
	[OBJ_ERR_METHOD_NOT_ALLOWED] = { "MethodNotAllowed",
		"The specified method is not allowed against this resource.", 405 },
	[OBJ_ERR_NOT_IMPLEMENTED] = { "NotImplemented",
		"A header you provided implies functionality that is not implemented", 501 },
	[OBJ_ERR_INVALID_DIGEST] = { "InvalidDigest",
		"The Content-MD5 you specified was invalid.", 400 },
	[OBJ_ERR_METADATA_TOO_LARGE] = { "MetadataTooLarge",
		"Your metadata headers exceed the maximum allowed metadata size.", 400 },
	[OBJ_ERR_MALFORMED_XML] = { "MalformedXML",
		"The XML you provided was not well-formed or did not validate against "
		"our published schema.", 400 },
	[OBJ_ERR_INVALID_REQUEST] = { "InvalidRequest", "Invalid Request", 400 },
	[OBJ_ERR_TOO_LARGE] = { "EntityTooLarge",
		"Your proposed upload exceeds the maximum allowed size", 400 },
};

const char *
obj_err_code(enum obj_err e)
{
	return (unsigned int)e < OBJ_ERR_COUNT ? table[e].code : "InternalError";
}

const char *
obj_err_message(enum obj_err e)
{
	return (unsigned int)e < OBJ_ERR_COUNT ? table[e].message :
	       "We encountered an internal error. Please try again.";
}

int
obj_err_status(enum obj_err e)
{
	return (unsigned int)e < OBJ_ERR_COUNT ? table[e].status : 500;
}
