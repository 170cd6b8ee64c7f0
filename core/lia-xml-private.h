/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Ownership for libxml2 types (STYLE rule 14): every libxml2 object a core
 * file holds is a g_autoptr local, so each parser of outside XML (OriginalXML,
 * protocol XML, filter XML) frees what it made on every early return.
 *
 * libxml2 frees through function pointers (xmlFree is a variable, and may be
 * a macro in thread-alloc builds), so each cleanup is a real function here. */

#include <glib.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlreader.h>
#include <libxml/xmlwriter.h>
#include <libxml/xpath.h>

G_BEGIN_DECLS

static inline void
lia_xml_char_free (xmlChar *s)
{
  if (s != NULL)
    xmlFree (s);
}

static inline void
lia_xml_parser_ctxt_free (xmlParserCtxt *ctxt)
{
  if (ctxt != NULL)
    xmlFreeParserCtxt (ctxt);
}

static inline void
lia_xml_doc_free (xmlDoc *doc)
{
  if (doc != NULL)
    xmlFreeDoc (doc);
}

static inline void
lia_xml_node_free (xmlNode *node)
{
  if (node != NULL)
    xmlFreeNode (node);
}

static inline void
lia_xml_buffer_free (xmlBuffer *buffer)
{
  if (buffer != NULL)
    xmlBufferFree (buffer);
}

static inline void
lia_xml_text_reader_free (xmlTextReader *reader)
{
  if (reader != NULL)
    xmlFreeTextReader (reader);
}

static inline void
lia_xml_text_writer_free (xmlTextWriter *writer)
{
  if (writer != NULL)
    xmlFreeTextWriter (writer);
}

static inline void
lia_xml_xpath_context_free (xmlXPathContext *xpath)
{
  if (xpath != NULL)
    xmlXPathFreeContext (xpath);
}

static inline void
lia_xml_xpath_object_free (xmlXPathObject *object)
{
  if (object != NULL)
    xmlXPathFreeObject (object);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (xmlChar, lia_xml_char_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (xmlParserCtxt, lia_xml_parser_ctxt_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (xmlDoc, lia_xml_doc_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (xmlNode, lia_xml_node_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (xmlBuffer, lia_xml_buffer_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (xmlTextReader, lia_xml_text_reader_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (xmlTextWriter, lia_xml_text_writer_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (xmlXPathContext, lia_xml_xpath_context_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (xmlXPathObject, lia_xml_xpath_object_free)

G_END_DECLS
